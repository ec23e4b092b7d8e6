/* test_policy_nics.c: a NIC's segment and addresses in the VM config, checked against a policy. */
#include "policy_test.h"
#include "util/bytes.h"

#include <arpa/inet.h>

#define VM "name: a\nkernel: k\nnics:\n"

#define NET                                                                                        \
	LIMITS "network:\n  segments:\n"                                                           \
	       "    - name: web\n      ranges: [10.0.1.0/24, \"fd00:1::/64\"]\n"                   \
	       "      bridge: br-web\n"                                                            \
	       "    - name: db\n      ranges: [10.0.2.0/24]\n"

static struct vm_config cfg;

static void vm_ok(const char *text)
{
	if (config_parse("vm.yaml", text, strlen(text), &cfg, &err))
		fail_msg("refused %s: %s", text, err.msg);
}

static void vm_refused(const char *text, const char *msg)
{
	if (config_parse("vm.yaml", text, strlen(text), &cfg, &err) != -1)
		fail_msg("accepted %s", text);
	assert_string_equal(err.msg, msg);
}

/* Parses the VM config TEXT and checks it against the policy parsed before: MSG, or NULL for ok. */
static void check(const char *text, const char *msg)
{
	vm_ok(text);
	memset(&err, 0, sizeof(err));
	if (!msg) {
		if (policy_check_vm(&pol, &cfg, &err))
			fail_msg("refused %s: %s", text, err.msg);
	} else {
		assert_int_equal(policy_check_vm(&pol, &cfg, &err), -1);
		assert_string_equal(err.msg, msg);
	}
	config_free(&cfg);
}

static int teardown_both(void **state)
{
	config_free(&cfg);
	return teardown(state);
}

static void test_nic_keys(void **state)
{
	uint8_t v4[4], v6[16];

	(void)state;
	vm_ok(VM "  - tap: tap0\n    segment: web\n    ipv4: 10.0.1.5\n    ipv6: \"fd00:1::5\"\n"
		 "  - tap: tap1\n");
	assert_string_equal(cfg.nics[0].segment, "web");
	assert_int_equal(inet_pton(AF_INET, "10.0.1.5", v4), 1);
	assert_int_equal(inet_pton(AF_INET6, "fd00:1::5", v6), 1);
	assert_memory_equal(cfg.nics[0].ipv4, v4, 4);
	assert_memory_equal(cfg.nics[0].ipv6, v6, 16);
	assert_int_equal(cfg.nics[0].loc_segment.line, 5);
	assert_int_equal(cfg.nics[0].loc_ipv4.line, 6);
	assert_int_equal(cfg.nics[0].loc_ipv4.column, 11);
	assert_string_equal(cfg.nics[1].segment, "");
	assert_int_equal(cfg.nics[1].loc_ipv4.line, 0);
	assert_int_equal(cfg.nics[1].loc_ipv6.line, 0);
	assert_int_equal(cfg.nics[1].loc_ipv6_link_local.line, 0);
}

/* A guest whose link-local address is not its MAC's EUI-64 (stable-privacy, random) says so. */
static void test_nic_link_local(void **state)
{
	uint8_t ll[16];

	(void)state;
	vm_ok(VM "  - tap: tap0\n    segment: web\n    ipv6_link_local: \"fe80::a:b:c:d\"\n");
	assert_int_equal(inet_pton(AF_INET6, "fe80::a:b:c:d", ll), 1);
	assert_memory_equal(cfg.nics[0].ipv6_link_local, ll, 16);
	assert_int_equal(cfg.nics[0].loc_ipv6_link_local.line, 6);
	config_free(&cfg);
	vm_refused(VM "  - tap: t\n    ipv6_link_local: \"fd00:1::5\"\n",
		   "vm.yaml:5:22: nics[0].ipv6_link_local: expected a link-local address in "
		   "fe80::/64, got \"fd00:1::5\"");
	vm_refused(VM "  - tap: t\n    ipv6_link_local: \"fe80:1::5\"\n",
		   "vm.yaml:5:22: nics[0].ipv6_link_local: expected a link-local address in "
		   "fe80::/64, got \"fe80:1::5\"");
	vm_refused(VM "  - tap: t\n    ipv6_link_local: 10.0.0.1\n",
		   "vm.yaml:5:22: nics[0].ipv6_link_local: expected an IPv6 link-local address "
		   "such as \"fe80::5\", got \"10.0.0.1\"");
}

static void test_nic_keys_refused(void **state)
{
	static const char *const bad4[] = {"10.0.1",	  "10.0.1.256", "010.0.1.5",
					   "10.0.1.5/24", "fd00::1",	"host"};
	char text[256], want[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad4); i++) {
		snprintf(text, sizeof(text), VM "  - tap: t\n    ipv4: %s\n", bad4[i]);
		snprintf(want, sizeof(want),
			 "vm.yaml:5:11: nics[0].ipv4: expected an IPv4 address such as 10.0.1.5, "
			 "got \"%s\"",
			 bad4[i]);
		vm_refused(text, want);
	}
	vm_refused(
	    VM "  - tap: t\n    ipv6: 10.0.0.1\n",
	    "vm.yaml:5:11: nics[0].ipv6: expected an IPv6 address such as \"fd00:1::5\", got "
	    "\"10.0.0.1\"");
	vm_refused(VM "  - tap: t\n    ipv4: 224.0.0.1\n",
		   "vm.yaml:5:11: nics[0].ipv4: expected a unicast address (not unspecified, "
		   "loopback, multicast or broadcast), got \"224.0.0.1\"");
	vm_refused(VM "  - tap: t\n    ipv4: 255.255.255.255\n",
		   "vm.yaml:5:11: nics[0].ipv4: expected a unicast address (not unspecified, "
		   "loopback, multicast or broadcast), got \"255.255.255.255\"");
	vm_refused(VM "  - tap: t\n    ipv4: 0.0.0.0\n",
		   "vm.yaml:5:11: nics[0].ipv4: expected a unicast address (not unspecified, "
		   "loopback, multicast or broadcast), got \"0.0.0.0\"");
	vm_refused(VM "  - tap: t\n    ipv6: \"::1\"\n",
		   "vm.yaml:5:11: nics[0].ipv6: expected a unicast address (not unspecified, "
		   "loopback, multicast or broadcast), got \"::1\"");
	vm_refused(VM "  - tap: t\n    ipv6: \"ff02::1\"\n",
		   "vm.yaml:5:11: nics[0].ipv6: expected a unicast address (not unspecified, "
		   "loopback, multicast or broadcast), got \"ff02::1\"");
	vm_refused(VM "  - tap: t\n    segment: Web\n",
		   "vm.yaml:5:14: nics[0].segment: expected a segment name: 1 to 32 characters "
		   "from a-z, 0-9 and -, got \"Web\"");
}

static void test_bridge(void **state)
{
	(void)state;
	parse_ok(NET);
	assert_string_equal(pol.network.segments[0].bridge, "br-web");
	assert_string_equal(pol.network.segments[1].bridge, "");
	policy_free(&pol);
	refused(LIMITS "network:\n  segments:\n    - name: a\n      ranges: [10.0.0.0/8]\n"
		       "      bridge: br/0\n",
		"p.yaml:8:15: network.segments[0].bridge: expected an interface name: 1 to 15 "
		"printable ASCII characters but space, /, : and %, not . or .., got \"br/0\"");
}

static void test_nics_in_segments(void **state)
{
	(void)state;
	parse_ok(NET);
	check(VM "  - tap: t0\n    segment: web\n    ipv4: 10.0.1.5\n    ipv6: \"fd00:1::5\"\n"
		 "  - tap: t1\n    segment: db\n    ipv4: 10.0.2.255\n",
	      NULL);
	check(VM "  - tap: t0\n    segment: web\n", NULL); /* addresses are optional */
	check("name: a\nkernel: k\n", NULL);		   /* so are NICs */
	check(
	    VM "  - tap: t0\n    segment: dmz\n",
	    "vm.yaml:5:14: nics[0].segment: the policy p.yaml has no segment dmz (it has web, db)");
	check(
	    VM "  - tap: t0\n    segment: web\n  - tap: t1\n",
	    "vm.yaml:6:5: nics[1]: expected a segment: the policy p.yaml puts every NIC in one of "
	    "web, db");
	check(VM "  - tap: t0\n    segment: web\n    ipv4: 10.0.2.5\n",
	      "vm.yaml:6:11: nics[0].ipv4: 10.0.2.5 is outside segment web's IPv4 ranges "
	      "(10.0.1.0/24)");
	check(VM "  - tap: t0\n    segment: web\n    ipv6: \"fd00:2::5\"\n",
	      "vm.yaml:6:11: nics[0].ipv6: fd00:2::5 is outside segment web's IPv6 ranges "
	      "(fd00:1::/64)");
	check(VM "  - tap: t0\n    segment: db\n    ipv6: \"fd00:1::5\"\n",
	      "vm.yaml:6:11: nics[0].ipv6: fd00:1::5 is outside segment db's IPv6 ranges (it has "
	      "none)");
}

static void test_nics_without_network(void **state)
{
	(void)state;
	parse_ok(LIMITS);
	check(VM "  - tap: t0\n    ipv4: 10.0.1.5\n", NULL);
	check(VM "  - tap: t0\n    segment: web\n",
	      "vm.yaml:5:14: nics[0].segment: the policy p.yaml has no segment web (no network "
	      "section)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_nic_keys, teardown_both),
	    cmocka_unit_test_teardown(test_nic_keys_refused, teardown_both),
	    cmocka_unit_test_teardown(test_nic_link_local, teardown_both),
	    cmocka_unit_test_teardown(test_bridge, teardown_both),
	    cmocka_unit_test_teardown(test_nics_in_segments, teardown_both),
	    cmocka_unit_test_teardown(test_nics_without_network, teardown_both),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
