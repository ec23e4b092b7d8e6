/* test_net_cmd.c: `bulwark net`'s decisions without root: the owner, the plan, its lines, refusals.
 */
#include "policy_test.h"

#include <linux/if_tun.h>

#include "net/net_cmd.h"
#include "net/net_mark.h"

#define POLICY_NET                                                                                 \
	LIMITS "network:\n  segments:\n"                                                           \
	       "    - name: web\n      ranges: [10.0.1.0/24]\n      vlan: 101\n"                   \
	       "      bridge: br-web\n"                                                            \
	       "    - name: db\n      ranges: [10.0.2.0/24]\n      bridge: br-db\n"                \
	       "    - name: lab\n      ranges: [10.0.3.0/24]\n      vlan: 7\n"

static const struct net_owner nobody = {65534, 65534};

static void test_owner_policy(void **state)
{
	struct net_owner o;
	char why[128] = "";

	(void)state;
	parse_ok(LIMITS "sandbox:\n  uid: 1234\n  gid: 4321\n");
	/* The policy's ids win over sudo's and the real ones. */
	assert_int_equal(net_owner(&pol, "1000", "1000", 0, 0, &o, why, sizeof(why)), 0);
	assert_int_equal(o.uid, 1234);
	assert_int_equal(o.gid, 4321);
	/* Even over malformed sudo variables, which are then never read. */
	assert_int_equal(net_owner(&pol, "x", "", 0, 0, &o, why, sizeof(why)), 0);
	policy_free(&pol);
}

static void test_owner_invoker(void **state)
{
	struct net_owner o;
	char why[128] = "";

	(void)state;
	parse_ok(LIMITS);
	assert_int_equal(net_owner(&pol, "1000", "1001", 0, 0, &o, why, sizeof(why)), 0);
	assert_int_equal(o.uid, 1000);
	assert_int_equal(o.gid, 1001);
	assert_int_equal(net_owner(&pol, NULL, NULL, 500, 501, &o, why, sizeof(why)), 0);
	assert_int_equal(o.uid, 500);
	assert_int_equal(o.gid, 501);
	assert_int_equal(net_owner(&pol, "1000", NULL, 0, 20, &o, why, sizeof(why)), 0);
	assert_int_equal(o.uid, 1000);
	assert_int_equal(o.gid, 20);
	assert_int_equal(net_owner(&pol, "4294967294", "0", 7, 7, &o, why, sizeof(why)), 0);
	assert_int_equal(o.uid, 4294967294U);
	assert_int_equal(o.gid, 0);
	/* Anything but a plain decimal id, or (uid_t)-1, is refused. */
	assert_int_equal(net_owner(&pol, "4294967295", NULL, 0, 0, &o, why, sizeof(why)), -1);
	assert_string_equal(why, "SUDO_UID=4294967295 is not a uid");
	assert_int_equal(net_owner(&pol, "-1", NULL, 0, 0, &o, why, sizeof(why)), -1);
	assert_int_equal(net_owner(&pol, "", NULL, 0, 0, &o, why, sizeof(why)), -1);
	assert_int_equal(net_owner(&pol, "12a", NULL, 0, 0, &o, why, sizeof(why)), -1);
	assert_int_equal(net_owner(&pol, " 12", NULL, 0, 0, &o, why, sizeof(why)), -1);
	assert_int_equal(
	    net_owner(&pol, "99999999999999999999999", NULL, 0, 0, &o, why, sizeof(why)), -1);
	assert_int_equal(net_owner(&pol, "1000", "root", 0, 0, &o, why, sizeof(why)), -1);
	assert_string_equal(why, "SUDO_GID=root is not a gid");
	policy_free(&pol);
}

static void load_vm(struct vm_config *cfg, const char *text)
{
	if (config_parse("vm.yaml", text, strlen(text), cfg, &err))
		fail_msg("refused %s: %s", text, err.msg);
	if (policy_check_vm(&pol, cfg, &err))
		fail_msg("policy refused %s: %s", text, err.msg);
}

static void test_plan_and_lines(void **state)
{
	struct vm_config cfg;
	struct net_tap_plan p[CONFIG_NICS_MAX];
	char line[160];

	(void)state;
	parse_ok(POLICY_NET);
	load_vm(&cfg, "name: a\nkernel: k\nnics:\n"
		      "  - tap: tap0\n    segment: web\n    ipv4: 10.0.1.5\n"
		      "  - tap: tap1\n    segment: db\n"
		      "  - tap: tap2\n    segment: lab\n");
	assert_int_equal(net_plan(&cfg, &pol, p), 3);
	assert_string_equal(p[0].tap, "tap0");
	assert_string_equal(p[0].bridge, "br-web");
	assert_int_equal(p[0].vlan, 101);
	assert_string_equal(p[1].bridge, "br-db");
	assert_int_equal(p[1].vlan, 0);
	/* A segment without a bridge: the tap alone; its VLAN is bulwark's to tag. */
	assert_null(p[2].bridge);
	assert_int_equal(p[2].vlan, 7);
	net_up_line(line, sizeof(line), &p[0], &nobody, NULL);
	assert_string_equal(line, "bulwark: net up: tap0 (owner 65534:65534) on br-web vlan 101");
	net_up_line(line, sizeof(line), &p[1], &nobody, NULL);
	assert_string_equal(line, "bulwark: net up: tap1 (owner 65534:65534) on br-db");
	net_up_line(line, sizeof(line), &p[2], &(struct net_owner){0, 0}, NULL);
	assert_string_equal(line, "bulwark: net up: tap2 (owner 0:0), no bridge");
	/* One attached before, say to another segment's bridge: the line says where it still is. */
	net_up_line(line, sizeof(line), &p[2], &(struct net_owner){0, 0}, "br-db");
	assert_string_equal(line,
			    "bulwark: net up: tap2 (owner 0:0), no bridge in its segment, "
			    "still on br-db as before (ip link set tap2 nomaster detaches it)");
	config_free(&cfg);
	policy_free(&pol);
}

static void test_plan_no_segments(void **state)
{
	struct vm_config cfg;
	struct net_tap_plan p[CONFIG_NICS_MAX];

	(void)state;
	parse_ok(LIMITS);
	load_vm(&cfg, "name: a\nkernel: k\nnics:\n  - tap: t0\n  - tap: t1\n");
	assert_int_equal(net_plan(&cfg, &pol, p), 2);
	assert_null(p[0].bridge);
	assert_null(p[1].bridge);
	assert_int_equal(p[1].vlan, 0);
	config_free(&cfg);
	load_vm(&cfg, "name: a\nkernel: k\n");
	assert_int_equal(net_plan(&cfg, &pol, p), 0);
	config_free(&cfg);
	policy_free(&pol);
}

static struct nl_link ours(void)
{
	struct nl_link l = {.index = 5,
			    .kind = "tun",
			    .tun_data = true,
			    .tun_type = IFF_TAP,
			    .tun_persist = true,
			    .has_owner = true,
			    .owner = 65534,
			    .has_group = true,
			    .group = 65534};
	return l;
}

static void refusal(const struct nl_link *l, const char *want)
{
	char buf[128];
	const char *why = net_tap_refusal(l, &nobody, buf, sizeof(buf));

	if (!want) {
		assert_null(why);
		return;
	}
	assert_non_null(why);
	assert_string_equal(why, want);
}

static void test_tap_refusal(void **state)
{
	struct nl_link l = ours();

	(void)state;
	refusal(&l, NULL);
	l.master = 9; /* on some bridge: still ours; net up moves it to its own */
	refusal(&l, NULL);
	l = (struct nl_link){.index = 5, .kind = "bridge"};
	refusal(&l, "is a bridge device, not a tap");
	l = (struct nl_link){.index = 5};
	refusal(&l, "is not a tap (a device with no link kind)");
	l = ours();
	l.tun_data = false;
	refusal(&l, "is a tun/tap device the kernel does not describe (no IFLA_TUN_* attributes: "
		    "Linux 4.15 or later needed)");
	l = ours();
	l.tun_type = IFF_TUN;
	refusal(&l, "is a tun (layer 3) device, not a tap");
	l = ours();
	l.tun_multi_queue = true;
	refusal(&l, "is a multi-queue tap; bulwark opens single-queue ones");
	l = ours();
	l.tun_persist = false;
	refusal(&l, "is not persistent: another program's tap, in use");
	l = ours();
	l.has_owner = false;
	refusal(&l, "has no owner, not uid 65534");
	l = ours();
	l.owner = 1000;
	refusal(&l, "belongs to uid 1000, not uid 65534");
	l = ours();
	l.has_group = false;
	refusal(&l, "has no group, not gid 65534");
	l = ours();
	l.group = 0;
	refusal(&l, "has group 0, not gid 65534");
}

/* The mark's verdicts; an alias is anyone's text: its control characters never reach a line. */
static void test_mark_refusal(void **state)
{
	struct nl_link l = ours();
	char buf[1024];
	const char *mine = "bulwark:a:/etc/a.yaml";

	(void)state;
	snprintf(l.alias, sizeof(l.alias), "%s", mine);
	assert_null(net_mark_refusal(&l, "tap0", mine, true, buf, sizeof(buf)));
	assert_null(net_mark_run_refusal(&l, mine, buf, sizeof(buf)));
	snprintf(l.alias, sizeof(l.alias), "bulwark:a:/etc/a.yaml\n\x1b[2J");
	assert_string_equal(
	    net_mark_refusal(&l, "tap0", mine, false, buf, sizeof(buf)),
	    "is marked \"bulwark:a:/etc/a.yaml??[2J\", not \"bulwark:a:/etc/a.yaml\" "
	    "(another VM's tap: left in place; if this VM's config was moved from there, ip link "
	    "del tap0)");
	assert_string_equal(
	    net_mark_run_refusal(&l, mine, buf, sizeof(buf)),
	    "is marked \"bulwark:a:/etc/a.yaml??[2J\", another VM's tap, not this "
	    "one's \"bulwark:a:/etc/a.yaml\" (give this VM a tap of its own: bulwark "
	    "net up CONFIG makes it; if this config was moved from there, ip link del the tap "
	    "and run net up again)");
	/* A prefix of the mark is not the mark. */
	snprintf(l.alias, sizeof(l.alias), "bulwark:a:/etc/a.yam");
	assert_non_null(net_mark_refusal(&l, "tap0", mine, true, buf, sizeof(buf)));
	assert_non_null(net_mark_run_refusal(&l, mine, buf, sizeof(buf)));
	/* Another tool's alias: net up and down refuse, run does not. */
	snprintf(l.alias, sizeof(l.alias), "uplink");
	assert_non_null(net_mark_refusal(&l, "tap0", mine, true, buf, sizeof(buf)));
	assert_null(net_mark_run_refusal(&l, mine, buf, sizeof(buf)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_owner_policy),   cmocka_unit_test(test_owner_invoker),
	    cmocka_unit_test(test_plan_and_lines), cmocka_unit_test(test_plan_no_segments),
	    cmocka_unit_test(test_tap_refusal),	   cmocka_unit_test(test_mark_refusal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
