/* test_net_audit.c: the frame filter's audit line, byte for byte, and its rate limit on an
 * injected clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "net_frames.h"

#define MS 1000000ULL

static struct net_drop d;
static char line[512];

static void test_format_ipv4(void **state)
{
	size_t n;

	(void)state;
	tcp4("10.0.1.5", "10.0.3.3", 80);
	assert_int_equal(net_filter_tx(&web, fr, flen, NULL, &d), NET_DROP_DST_DENIED);
	n = net_audit_format(line, sizeof(line), "web-1", "tap0", &d, 0);
	assert_string_equal(
	    line, "{\"event\":\"net-drop\",\"vm\":\"web-1\",\"nic\":\"tap0\",\"dir\":\"tx\","
		  "\"reason\":\"dst-denied\",\"src_mac\":\"02:00:00:00:01:05\","
		  "\"dst_mac\":\"02:00:00:00:01:06\",\"ethertype\":\"0x0800\",\"src\":\"10.0.1.5\","
		  "\"dst\":\"10.0.3.3\",\"proto\":\"tcp\",\"dport\":80}\n");
	assert_int_equal(n, strlen(line));
	/* Lines held back are counted in the next one. */
	net_audit_format(line, sizeof(line), "web-1", "tap0", &d, 7);
	assert_non_null(strstr(line, ",\"dport\":80,\"suppressed\":7}\n"));
}

static void test_format_others(void **state)
{
	(void)state;
	/* ARP: its sender and target addresses, no protocol. */
	arp(1, nic_mac, "10.0.1.6", "10.0.1.1");
	assert_int_equal(net_filter_tx(&web, fr, flen, NULL, &d), NET_DROP_ARP_SPOOF);
	net_audit_format(line, sizeof(line), "a", "t", &d, 0);
	assert_non_null(strstr(line, "\"reason\":\"arp-spoof\",\"src_mac\":\"02:00:00:00:01:05\","
				     "\"dst_mac\":\"ff:ff:ff:ff:ff:ff\",\"ethertype\":\"0x0806\","
				     "\"src\":\"10.0.1.6\",\"dst\":\"10.0.1.1\"}\n"));
	/* IPv6, a protocol without a name, no port. */
	ip6("fd00:1::5", "fd00:3::1", NULL, 0, 0, 47, 8);
	assert_int_equal(net_filter_tx(&web, fr, flen, NULL, &d), NET_DROP_DST_DENIED);
	net_audit_format(line, sizeof(line), "a", "t", &d, 0);
	assert_non_null(
	    strstr(line, "\"src\":\"fd00:1::5\",\"dst\":\"fd00:3::1\",\"proto\":\"47\"}"));
	/* A runt: nothing but what it is. */
	flen = 10;
	assert_int_equal(net_filter_tx(&web, fr, flen, NULL, &d), NET_DROP_RUNT);
	net_audit_format(line, sizeof(line), "a", "t", &d, 0);
	assert_string_equal(line,
			    "{\"event\":\"net-drop\",\"vm\":\"a\",\"nic\":\"t\",\"dir\":\"tx\","
			    "\"reason\":\"runt\"}\n");
	/* Receive side; a tap name with the characters JSON escapes. */
	eth(peer_mac, peer_mac, 0x86dd);
	flen = 60;
	assert_int_equal(net_filter_rx(&web, fr, flen, &d), NET_DROP_RX_DST_MAC);
	net_audit_format(line, sizeof(line), "a", "t\"a\\p", &d, 0);
	assert_non_null(strstr(line, "\"nic\":\"t\\\"a\\\\p\",\"dir\":\"rx\","
				     "\"reason\":\"rx-dst-mac\""));
	assert_non_null(strstr(line, "\"ethertype\":\"0x86dd\"}\n"));
	/* A buffer too small cuts the line, which still ends in a newline. */
	assert_int_equal(net_audit_format(line, 40, "a", "t", &d, 0), 39);
	assert_int_equal(line[37], '}');
	assert_int_equal(line[38], '\n');
	assert_int_equal(line[39], '\0');
	assert_int_equal(net_audit_format(line, 3, "a", "t", &d, 0), 0);
}

static void test_rate_limit(void **state)
{
	struct net_audit a = {0};
	unsigned long sup = 99;
	uint64_t t = 5000 * MS;

	(void)state;
	/* A burst of 20 at once, then nothing until time has passed. */
	for (unsigned i = 0; i < NET_AUDIT_BURST; i++) {
		assert_true(net_audit_admit(&a, t, &sup));
		assert_int_equal(sup, 0);
	}
	for (unsigned i = 0; i < 5; i++)
		assert_false(net_audit_admit(&a, t + 99 * MS, &sup));
	/* 100 ms later, one line, which tells of the five held back. */
	assert_true(net_audit_admit(&a, t + 100 * MS, &sup));
	assert_int_equal(sup, 5);
	assert_false(net_audit_admit(&a, t + 150 * MS, &sup));
	assert_true(net_audit_admit(&a, t + 200 * MS, &sup));
	assert_int_equal(sup, 1);
	/* 10 a second in the long run. */
	{
		unsigned logged = 0;

		for (unsigned i = 0; i < 1000; i++)
			logged += net_audit_admit(&a, t + 200 * MS + i * 10 * MS, &sup);
		assert_in_range(logged, 99, 101);
	}
	/* A long silence refills the bucket to its burst, not beyond. */
	t += 3600000 * MS;
	for (unsigned i = 0; i < NET_AUDIT_BURST; i++)
		assert_true(net_audit_admit(&a, t, &sup));
	assert_false(net_audit_admit(&a, t, &sup));
	/* A clock that goes back earns nothing and breaks nothing. */
	assert_false(net_audit_admit(&a, t - 1000 * MS, &sup));
	assert_true(net_audit_admit(&a, t + 100 * MS, &sup));
	assert_int_equal(sup, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format_ipv4),
	    cmocka_unit_test(test_format_others),
	    cmocka_unit_test(test_rate_limit),
	};

	return cmocka_run_group_tests(tests, net_setup, net_teardown);
}
