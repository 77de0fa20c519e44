/* file.h: whole files written so that a reader never sees half of one. */
#ifndef RD_UTIL_FILE_H
#define RD_UTIL_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Writes data to a hidden temporary name beside path (".NAME.tmp", mode
 * `mode`), flushes it and renames it over path.  0, or a negated errno with
 * nothing left behind. */
int rd_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

#endif
