/*
 * test_netblock.c: addresses and address blocks (core/util/netblock.c), as
 * trusted_proxies and the limiters' client keys use them.
 *
 * Covers: IPv4 and IPv6 literals (spaces around them allowed) and what is
 * not one; blocks with and without a length, the host bits ignored; an
 * IPv4 block matching the same address written IPv4-mapped; /0 matching
 * everything of its family only; every malformed list refused naming the
 * entry; the limit on entries; the client key (IPv4 as is, IPv6 by /64).
 */
#include <stdio.h>

#include "unit.h"
#include "util/netblock.h"

static struct rd_ip ip(const char *s)
{
	struct rd_ip x;
	if (rd_ip_parse(s, strlen(s), &x) != 0)
		fail_msg("%s does not parse", s);
	return x;
}

static void addresses(void **state)
{
	(void)state;
	struct rd_ip x;
	const char *good[] = { "192.0.2.7", " 10.0.0.1 ", "2001:db8::1", "::1", "::ffff:192.0.2.7", "0.0.0.0" };
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		assert_int_equal(rd_ip_parse(good[i], strlen(good[i]), &x), 0);
	const char *bad[] = { "", " ", "unknown", "1.2.3.4.5", "256.0.0.1", "192.0.2.7:80", "[2001:db8::1]",
			      "2001:db8::1%eth0", "1.2.3", "::g" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (rd_ip_parse(bad[i], strlen(bad[i]), &x) == 0)
			fail_msg("\"%s\" parsed as an address", bad[i]);
	char out[64];
	x = ip("::ffff:192.0.2.7");
	rd_ip_format(&x, out, sizeof out);
	assert_string_equal(out, "192.0.2.7");
	x = ip("2001:0db8:0000::0001");
	rd_ip_format(&x, out, sizeof out);
	assert_string_equal(out, "2001:db8::1");
}

static void blocks(void **state)
{
	(void)state;
	struct rd_netblock b[RD_NETBLOCKS_MAX];
	size_t n;
	char why[200];
	assert_rc(rd_netblocks_parse("10.1.2.3/8, 192.0.2.7 ,2001:db8:1::/48,::1", b, &n, why, sizeof why), 0);
	assert_int_equal(n, 4);
	struct rd_ip yes[] = { ip("10.200.0.1"), ip("::ffff:10.0.0.1"), ip("192.0.2.7"), ip("2001:db8:1:ffff::9"),
			       ip("::1") };
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
		assert_true(rd_netblocks_match(b, n, &yes[i]));
	struct rd_ip no[] = { ip("11.0.0.1"), ip("192.0.2.8"), ip("2001:db8:2::1"), ip("::2"), ip("::a00:1") };
	for (size_t i = 0; i < sizeof no / sizeof *no; i++)
		assert_false(rd_netblocks_match(b, n, &no[i]));
	/* /0 is its family's everything, not the other family's */
	assert_rc(rd_netblocks_parse("0.0.0.0/0", b, &n, why, sizeof why), 0);
	struct rd_ip v4 = ip("203.0.113.1"), v6 = ip("2001:db8::1");
	assert_true(rd_netblocks_match(b, n, &v4));
	assert_false(rd_netblocks_match(b, n, &v6));
	/* none: matches nothing */
	assert_rc(rd_netblocks_parse("", b, &n, why, sizeof why), 0);
	assert_int_equal(n, 0);
	assert_false(rd_netblocks_match(b, n, &v4));
}

static void malformed_lists(void **state)
{
	(void)state;
	struct rd_netblock b[RD_NETBLOCKS_MAX];
	size_t n;
	char why[200];
	const char *bad[] = { "10.0.0.0/33", "2001:db8::/129", "proxy.example", "10.0.0.1,,10.0.0.2", "10.0.0.0/",
			      "10.0.0.0/x", "10.0.0.0/8,", "10.0.0.0/ 8 8", "/8", "10.0.0.0/0008" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		if (rd_netblocks_parse(bad[i], b, &n, why, sizeof why) != RD_EINVAL)
			fail_msg("\"%s\" was taken", bad[i]);
		assert_contains(why, "is not an IP address");
	}
	char many[2048] = "";
	for (int i = 0; i <= RD_NETBLOCKS_MAX; i++)
		snprintf(many + strlen(many), sizeof many - strlen(many), "%s10.0.%d.0/24", i ? "," : "", i);
	assert_rc(rd_netblocks_parse(many, b, &n, why, sizeof why), RD_EINVAL);
	assert_contains(why, "more than");
}

static void client_keys(void **state)
{
	(void)state;
	char out[64];
	struct rd_ip x = ip("192.0.2.7");
	rd_ip_client_key(&x, out, sizeof out);
	assert_string_equal(out, "192.0.2.7");
	x = ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd");
	rd_ip_client_key(&x, out, sizeof out);
	assert_string_equal(out, "2001:db8:1:2::/64");
	struct rd_ip y = ip("2001:db8:1:2::1");
	char out2[64];
	rd_ip_client_key(&y, out2, sizeof out2);
	assert_string_equal(out, out2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(addresses),
		cmocka_unit_test(blocks),
		cmocka_unit_test(malformed_lists),
		cmocka_unit_test(client_keys),
	};
	return cmocka_run_group_tests_name("netblock", tests, NULL, NULL);
}
