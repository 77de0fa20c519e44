/*
 * renewd/errors.h: the error numbers every renewd interface returns.
 *
 * Convention (shared by the daemon and by plugins): a function that can fail
 * returns an int; 0 is success, a negative value is one of the RD_E* codes
 * below or a negated errno value (-ENOENT, -EACCES, ...).  Positive values
 * are reserved for "how many" results (for example an iterator's "one more
 * item").  rd_strerror() in the daemon turns any of them into one sentence.
 *
 * Codes are part of the plugin ABI: they are only ever appended, never
 * renumbered.  They start far above the errno range so the two never meet.
 */
#ifndef RENEWD_ERRORS_H
#define RENEWD_ERRORS_H

enum rd_error {
	RD_OK = 0,
	RD_EBASE = -10000,      /* not an error: the start of the range */
	RD_ENOTFOUND = -10001,  /* the record, route or key does not exist */
	RD_EEXISTS = -10002,    /* a record with that key already exists */
	RD_EINVAL = -10003,     /* the input is malformed; the caller's fault */
	RD_ECORRUPT = -10004,   /* stored bytes do not decode: the store is damaged */
	RD_EVERSION = -10005,   /* encoded by a newer renewd than this one */
	RD_EMAPFULL = -10006,   /* the store map is full (handled inside the store) */
	RD_ENOTSTORE = -10007,  /* the data directory is not a renewd store */
	RD_ELOCKED = -10008,    /* another renewd holds the data directory */
	RD_ETOOBIG = -10009,    /* the input exceeds a configured limit */
	RD_EDECLINED = -10010,  /* not handled here; let the next handler try */
	RD_EASYNC = -10011,     /* the answer will come later from the loop thread */
	RD_EINTERNAL = -10012,  /* a broken invariant; a bug, logged with context */
	RD_ERANGE = -10013,     /* a value outside its allowed range */
	RD_EBUSY = -10014,      /* try again later */
};

#endif
