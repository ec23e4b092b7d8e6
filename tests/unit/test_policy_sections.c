/* test_policy_sections.c: the policy's cgroup, sandbox and network sections, good and refused. */
#include "policy_test.h"
#include "util/bytes.h"

#include <arpa/inet.h>

#define SIZE_EXP "expected a size (an integer with KiB, MiB or GiB, or 0) up to 1048576GiB, or max"

static void test_cgroup_all(void **state)
{
	(void)state;
	parse_ok(LIMITS "cgroup:\n"
			"  parent: /sys/fs/cgroup/vms\n"
			"  memory.max: 1536MiB\n"
			"  memory.high: 1GiB\n"
			"  memory.swap.max: 0\n"
			"  cpu.max: 150000 100000\n"
			"  cpu.weight: 10000\n"
			"  cpuset.cpus: 0-3,8,10-11\n"
			"  pids.max: max\n");
	assert_string_equal(pol.cgroup.parent, "/sys/fs/cgroup/vms");
	assert_int_equal(pol.cgroup.memory_max, 1536ULL << 20);
	assert_int_equal(pol.cgroup.memory_high, 1ULL << 30);
	assert_int_equal(pol.cgroup.memory_swap_max, 0);
	assert_int_equal(pol.cgroup.cpu_quota_us, 150000);
	assert_int_equal(pol.cgroup.cpu_period_us, 100000);
	assert_int_equal(pol.cgroup.cpu_weight, 10000);
	assert_string_equal(pol.cgroup.cpuset_cpus, "0-3,8,10-11");
	assert_int_equal(pol.cgroup.pids_max, POLICY_UNLIMITED);
	assert_true(pol.cgroup.memory_max_set && pol.cgroup.memory_high_set &&
		    pol.cgroup.memory_swap_max_set && pol.cgroup.cpu_max_set &&
		    pol.cgroup.cpu_weight_set && pol.cgroup.cpuset_cpus_set &&
		    pol.cgroup.pids_max_set);
	assert_int_equal(pol.cgroup.loc.line, 5);
	assert_int_equal(pol.cgroup.loc_pids_max.line, 12);
	assert_int_equal(pol.cgroup.loc_pids_max.column, 13);
}

static void test_cgroup_partial_and_max(void **state)
{
	(void)state;
	parse_ok(LIMITS "cgroup:\n  parent: /sys/fs/cgroup\n  memory.max: max\n  cpu.max: max\n");
	assert_string_equal(pol.cgroup.parent, "/sys/fs/cgroup");
	assert_int_equal(pol.cgroup.memory_max, POLICY_UNLIMITED);
	assert_int_equal(pol.cgroup.cpu_quota_us, POLICY_UNLIMITED);
	assert_int_equal(pol.cgroup.cpu_period_us, 100000); /* the kernel's own default */
	assert_false(pol.cgroup.memory_high_set || pol.cgroup.cpu_weight_set ||
		     pol.cgroup.cpuset_cpus_set || pol.cgroup.pids_max_set);
	policy_free(&pol);
	parse_ok(LIMITS "cgroup:\n  parent: /sys/fs/cgroup/a\n  cpu.max: \"max 1000000\"\n"
			"  cpuset.cpus: 7\n");
	assert_int_equal(pol.cgroup.cpu_period_us, 1000000);
	assert_string_equal(pol.cgroup.cpuset_cpus, "7");
	policy_free(&pol);
	/* memory.high max is the kernel's default, whatever memory.max is. */
	parse_ok(LIMITS "cgroup:\n  parent: /sys/fs/cgroup/a\n  memory.max: 1GiB\n"
			"  memory.high: max\n");
	assert_int_equal(pol.cgroup.memory_high, POLICY_UNLIMITED);
	policy_free(&pol);
	parse_ok(LIMITS "cgroup:\n  parent: /sys/fs/cgroup/a\n  memory.max: 1GiB\n"
			"  memory.high: 1GiB\n");
	assert_int_equal(pol.cgroup.memory_high, 1ULL << 30);
}

/* Refuses "cgroup:\n  parent: ...\n  KEY: VALUE" with "p.yaml:6:COL: cgroup.KEY: WANT, got
 * "VALUE"". */
static void cg_refused(const char *key, const char *value, const char *want)
{
	char text[512], msg[512];

	snprintf(text, sizeof(text), LIMITS "cgroup:\n  parent: /sys/fs/cgroup/a\n  %s: %s\n", key,
		 value);
	snprintf(msg, sizeof(msg), "p.yaml:6:%zu: cgroup.%s: %s, got \"%s\"", strlen(key) + 5, key,
		 want, value);
	refused(text, msg);
}

static void test_cgroup_refused(void **state)
{
	static const char *const sizes[] = {"1GB", "512",	 "1.5GiB",   "-1MiB",
					    "MAX", "1048577GiB", "unlimited"};
	static const char cpu[] = "expected \"QUOTA PERIOD\" in microseconds: QUOTA from 1000 or "
				  "max, PERIOD from 1000 to 1000000";
	static const char *const cpus[] = {
	    "50000 1000001", "999 100000", "50000 999", "50000  100000", "50000 100000 1",
	    "max max",	     "50%",	   "0.5",	"50000,100000",	 "17592186044416 100000"};
	static const char cpuset[] =
	    "expected CPU numbers and ranges such as 0-3,6 (below 8192, at most 128 characters)";
	static const char *const cpusets[] = {"3-1",	"0-", "-3",  "0,,1", "0,",    "8192",
					      "0-8192", "a",  "0 1", "01",   "1-2-3", "all"};
	static const char *const parents[] = {
	    "/sys/fs/cgroupx",	  "sys/fs/cgroup/a",   "/sys/fs/cgroup/", "/sys/fs/cgroup/../a",
	    "/sys/fs/cgroup/./a", "/sys/fs/cgroup//a", "/tmp/cg",	  "'/sys/fs/cgroup/a b'"};
	char text[256], want[512];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		cg_refused("memory.max", sizes[i], SIZE_EXP);
		cg_refused("memory.swap.max", sizes[i], SIZE_EXP);
	}
	for (size_t i = 0; i < ARRAY_SIZE(cpus); i++)
		cg_refused("cpu.max", cpus[i], cpu);
	for (size_t i = 0; i < ARRAY_SIZE(cpusets); i++)
		cg_refused("cpuset.cpus", cpusets[i], cpuset);
	cg_refused("cpu.weight", "0", "expected an integer from 1 to 10000");
	cg_refused("cpu.weight", "10001", "expected an integer from 1 to 10000");
	cg_refused("pids.max", "0", "expected an integer from 1 to 4194304, or max");
	cg_refused("pids.max", "-1", "expected an integer from 1 to 4194304, or max");
	for (size_t i = 0; i < ARRAY_SIZE(parents); i++) {
		snprintf(text, sizeof(text), LIMITS "cgroup:\n  parent: %s\n", parents[i]);
		refused_with(text, "p.yaml:5:11: cgroup.parent: expected an absolute path under "
				   "/sys/fs/cgroup");
	}
	refused(LIMITS "cgroup:\n  parent: /sys/fs/cgroup/a\n  pids.max: 3\n  pids.max: 4\n",
		"p.yaml:7:3: cgroup.pids.max: duplicate key (first given on line 6)");
	refused(LIMITS "cgroup: /sys/fs/cgroup/a\n",
		"p.yaml:4:9: cgroup: expected a mapping with parent, memory.max, memory.high, "
		"memory.swap.max, cpu.max, cpu.weight, cpuset.cpus, pids.max, got "
		"\"/sys/fs/cgroup/a\"");
	refused(LIMITS "cgroup:\n  memory.max: 1GiB\n",
		"p.yaml:5:3: cgroup.parent: required field is missing");
	refused(LIMITS "cgroup:\n  parent: /sys/fs/cgroup/a\n  memory_max: 1GiB\n",
		"p.yaml:6:3: cgroup.memory_max: unknown key (expected one of parent, memory.max, "
		"memory.high, memory.swap.max, cpu.max, cpu.weight, cpuset.cpus, pids.max)");
	refused(LIMITS "cgroup:\n  parent: /sys/fs/cgroup/a\n  memory.max: 1GiB\n"
		       "  memory.high: 2GiB\n",
		"p.yaml:7:16: cgroup.memory.high: expected at most memory.max (1 GiB), got 2 GiB");
	snprintf(want, sizeof(want), "p.yaml:6:16: cgroup.cpuset.cpus: %s, got \"", cpuset);
	snprintf(
	    text, sizeof(text), LIMITS "cgroup:\n  parent: /sys/fs/cgroup/a\n  cpuset.cpus: %s\n",
	    "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,"
	    "31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48");
	refused_with(text, want);
}

static void test_sandbox_all(void **state)
{
	(void)state;
	parse_ok(LIMITS "sandbox:\n"
			"  uid: 1000\n"
			"  gid: 4294967294\n"
			"  jail: /srv/bulwark/jail\n"
			"  namespaces: [net, mount]\n"
			"  rlimits:\n"
			"    nofile: 64\n"
			"    fsize: 8GiB\n"
			"    memlock: 0\n"
			"    core: max\n"
			"  seccomp: log\n");
	assert_true(pol.sandbox.ids_set);
	assert_int_equal(pol.sandbox.uid, 1000);
	assert_int_equal(pol.sandbox.gid, 4294967294U);
	assert_string_equal(pol.sandbox.jail, "/srv/bulwark/jail");
	assert_false(pol.sandbox.jail_tmpfs);
	assert_int_equal(pol.sandbox.namespaces, POLICY_NS_NET | POLICY_NS_MOUNT);
	assert_int_equal(pol.sandbox.rlimit[POLICY_RLIMIT_NOFILE], 64);
	assert_int_equal(pol.sandbox.rlimit[POLICY_RLIMIT_FSIZE], 8ULL << 30);
	assert_int_equal(pol.sandbox.rlimit[POLICY_RLIMIT_MEMLOCK], 0);
	assert_int_equal(pol.sandbox.rlimit[POLICY_RLIMIT_CORE], POLICY_UNLIMITED);
	for (int i = 0; i < POLICY_RLIMITS; i++)
		assert_true(pol.sandbox.rlimit_set[i]);
	assert_int_equal(pol.sandbox.seccomp, POLICY_SECCOMP_LOG);
	assert_int_equal(pol.sandbox.loc.line, 5);
}

static void test_sandbox_partial(void **state)
{
	(void)state;
	parse_ok(LIMITS "sandbox:\n  jail: tmpfs\n  namespaces: [mount, pid, ipc, uts, net]\n"
			"  rlimits: {core: 0}\n");
	assert_false(pol.sandbox.ids_set);
	assert_true(pol.sandbox.jail_tmpfs);
	assert_null(pol.sandbox.jail);
	assert_int_equal(pol.sandbox.namespaces, 31);
	assert_true(pol.sandbox.rlimit_set[POLICY_RLIMIT_CORE]);
	assert_false(pol.sandbox.rlimit_set[POLICY_RLIMIT_NOFILE]);
	assert_int_equal(pol.sandbox.seccomp, POLICY_SECCOMP_KILL);
	policy_free(&pol);
	parse_ok(LIMITS "sandbox:\n  uid: 0\n  gid: 0\n  namespaces: []\n");
	assert_true(pol.sandbox.ids_set);
	assert_int_equal(pol.sandbox.namespaces, 0);
}

static void test_sandbox_refused(void **state)
{
	(void)state;
	refused(LIMITS "sandbox:\n  uid: 1000\n",
		"p.yaml:5:8: sandbox.uid: expected uid and gid together (both or neither), got "
		"only uid");
	refused(LIMITS "sandbox:\n  seccomp: kill\n  gid: 1000\n",
		"p.yaml:6:8: sandbox.gid: expected uid and gid together (both or neither), got "
		"only gid");
	refused(LIMITS "sandbox:\n  uid: 4294967295\n  gid: 1\n",
		"p.yaml:5:8: sandbox.uid: expected an integer from 0 to 4294967294, got "
		"\"4294967295\"");
	refused(LIMITS "sandbox:\n  uid: -1\n  gid: 1\n",
		"p.yaml:5:8: sandbox.uid: expected an integer from 0 to 4294967294, got \"-1\"");
	refused(LIMITS "sandbox:\n  uid: nobody\n  gid: 1\n",
		"p.yaml:5:8: sandbox.uid: expected an integer from 0 to 4294967294, got "
		"\"nobody\"");
	refused(
	    LIMITS "sandbox:\n  namespaces: [mount, user]\n",
	    "p.yaml:5:23: sandbox.namespaces[1]: expected one of mount, pid, ipc, uts, net, got "
	    "\"user\"");
	refused(LIMITS "sandbox:\n  namespaces: [pid, pid]\n",
		"p.yaml:5:21: sandbox.namespaces[1]: expected each namespace once, got pid again");
	refused(
	    LIMITS "sandbox:\n  namespaces: mount\n",
	    "p.yaml:5:15: sandbox.namespaces: expected a sequence of namespaces from mount, pid, "
	    "ipc, uts, net, got \"mount\"");
	refused(
	    LIMITS "sandbox:\n  namespaces: [[mount]]\n",
	    "p.yaml:5:16: sandbox.namespaces[0]: expected one of mount, pid, ipc, uts, net, got "
	    "a sequence");
	refused(LIMITS "sandbox:\n  seccomp: allow\n",
		"p.yaml:5:12: sandbox.seccomp: expected kill or log, got \"allow\"");
	refused(LIMITS "sandbox:\n  jail: tmpfs\n",
		"p.yaml:5:9: sandbox.jail: a jail needs the mount namespace: add mount to "
		"sandbox.namespaces");
	refused(LIMITS "sandbox:\n  jail: /srv/jail\n  namespaces: [pid]\n",
		"p.yaml:5:9: sandbox.jail: a jail needs the mount namespace: add mount to "
		"sandbox.namespaces");
	refused_with(
	    LIMITS "sandbox:\n  jail: jail\n",
	    "p.yaml:5:9: sandbox.jail: expected tmpfs or an absolute directory other than /");
	refused_with(LIMITS "sandbox:\n  jail: /\n", "p.yaml:5:9: sandbox.jail: expected tmpfs");
	refused_with(LIMITS "sandbox:\n  jail: /srv/../etc\n",
		     "p.yaml:5:9: sandbox.jail: expected");
	refused(LIMITS "sandbox:\n  rlimits:\n    nproc: 10\n",
		"p.yaml:6:5: sandbox.rlimits.nproc: unknown key (expected one of nofile, fsize, "
		"memlock, core)");
	refused(LIMITS "sandbox:\n  rlimits:\n    nofile: max\n",
		"p.yaml:6:13: sandbox.rlimits.nofile: expected an integer from 1 to 1048576, got "
		"\"max\"");
	refused(LIMITS "sandbox:\n  rlimits:\n    nofile: 0\n",
		"p.yaml:6:13: sandbox.rlimits.nofile: expected an integer from 1 to 1048576, got "
		"\"0\"");
	refused(LIMITS "sandbox:\n  rlimits:\n    fsize: 10MB\n",
		"p.yaml:6:12: sandbox.rlimits.fsize: " SIZE_EXP ", got \"10MB\"");
	refused(LIMITS "sandbox:\n  rlimits:\n    core: 4096\n",
		"p.yaml:6:11: sandbox.rlimits.core: " SIZE_EXP ", got \"4096\"");
	refused(LIMITS "sandbox:\n  chroot: /x\n",
		"p.yaml:5:3: sandbox.chroot: unknown key (expected one of uid, gid, jail, "
		"namespaces, rlimits, seccomp)");
}

#define SEG "network:\n  segments:\n"

static void test_network_good(void **state)
{
	const struct policy_segment *web, *db;
	uint8_t a[16] = {0};

	(void)state;
	parse_ok(LIMITS SEG "    - name: web\n"
			    "      ranges: [10.0.1.0/24, \"fd00:1::/64\"]\n"
			    "      vlan: 101\n"
			    "      reach: [db]\n"
			    "      dhcp: true\n"
			    "      ethertypes: [0x88cc]\n"
			    "      egress:\n"
			    "        - to: 0.0.0.0/0\n"
			    "          proto: tcp\n"
			    "          ports: 8000-8100\n"
			    "        - to: 192.0.2.53\n"
			    "    - name: db\n"
			    "      ranges: [10.0.2.0/24]\n");
	assert_int_equal(pol.network.nsegments, 2);
	web = policy_segment_find(&pol.network, "web");
	db = policy_segment_find(&pol.network, "db");
	assert_ptr_equal(web, &pol.network.segments[0]);
	assert_ptr_equal(db, &pol.network.segments[1]);
	assert_null(policy_segment_find(&pol.network, "dmz"));
	assert_int_equal(web->nranges, 2);
	assert_int_equal(web->ranges[0].family, 4);
	assert_int_equal(web->ranges[0].prefix, 24);
	assert_int_equal(web->ranges[1].family, 6);
	assert_int_equal(web->ranges[1].prefix, 64);
	assert_int_equal(web->vlan, 101);
	assert_int_equal(web->reach, 1u << 1);
	assert_int_equal(db->reach, 0);
	assert_true(web->dhcp);
	assert_false(db->dhcp);
	assert_int_equal(web->nethertypes, 1);
	assert_int_equal(web->ethertypes[0], 0x88cc);
	assert_int_equal(web->negress, 2);
	assert_int_equal(web->egress[0].proto, POLICY_PROTO_TCP);
	assert_int_equal(web->egress[0].port_min, 8000);
	assert_int_equal(web->egress[0].port_max, 8100);
	assert_int_equal(web->egress[0].to.prefix, 0);
	assert_int_equal(web->egress[1].proto, POLICY_PROTO_ANY);
	assert_int_equal(web->egress[1].to.prefix, 32);
	assert_int_equal(web->egress[1].port_min, 0);
	assert_int_equal(web->egress[1].port_max, 65535);
	assert_int_equal(web->egress[1].loc.line, 16);
	/* Containment, the filter's question. */
	assert_int_equal(inet_pton(AF_INET, "10.0.1.200", a), 1);
	assert_true(policy_cidr_contains(&web->ranges[0], 4, a));
	assert_false(policy_cidr_contains(&db->ranges[0], 4, a));
	assert_false(policy_cidr_contains(&web->ranges[1], 6, a));
	assert_true(policy_cidr_contains(&web->egress[0].to, 4, a));
	assert_int_equal(inet_pton(AF_INET6, "fd00:1::5", a), 1);
	assert_true(policy_cidr_contains(&web->ranges[1], 6, a));
	assert_int_equal(inet_pton(AF_INET6, "fd00:2::5", a), 1);
	assert_false(policy_cidr_contains(&web->ranges[1], 6, a));
}

static void test_network_refused(void **state)
{
	static const char cidr[] = "expected an IPv4 or IPv6 address or range such as 10.0.1.0/24 "
				   "or fd00:1::/64, got ";
	static const char *const bad[] = {"10.0.1/24",	  "10.0.1.0/33",  "10.0.1.0/",
					  "010.0.1.0/24", "10.0.1.0/024", "fd00::/129",
					  "fd00::1::/64", "host.example", "10.0.1.0/-1"};
	char text[256], want[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(text, sizeof(text), LIMITS SEG "    - name: a\n      ranges: [\"%s\"]\n",
			 bad[i]);
		snprintf(want, sizeof(want), "p.yaml:7:16: network.segments[0].ranges[0]: %s\"%s\"",
			 cidr, bad[i]);
		refused(text, want);
	}
	refused(LIMITS SEG "    - name: a\n      ranges: [10.0.1.1/24]\n",
		"p.yaml:7:16: network.segments[0].ranges[0]: expected a range with its host bits "
		"zero (such as 10.0.1.0/24), got \"10.0.1.1/24\"");
	refused(LIMITS SEG "    - name: a\n      ranges: [10.0.0.0/16]\n"
			   "    - name: b\n      ranges: [10.0.1.0/24]\n",
		"p.yaml:9:16: network.segments[1].ranges[0]: overlaps segments[0].ranges[0] (line "
		"7): a segment's addresses are its own");
	refused(LIMITS SEG "    - name: a\n      ranges: [10.0.0.0/16]\n"
			   "    - name: a\n      ranges: [10.1.0.0/16]\n",
		"p.yaml:8:13: network.segments[1].name: expected each name once, got a again "
		"(segments[0])");
	refused(LIMITS SEG "    - name: a\n      ranges: [10.0.0.0/16]\n      vlan: 7\n"
			   "    - name: b\n      ranges: [10.1.0.0/16]\n      vlan: 7\n",
		"p.yaml:11:13: network.segments[1].vlan: expected a VLAN of its own, got 7 again "
		"(segments[0])");
	refused(LIMITS SEG "    - name: a\n      ranges: [10.0.0.0/16]\n      reach: [a, b]\n",
		"p.yaml:8:15: network.segments[0].reach[0]: expected another segment (a segment "
		"always reaches itself), got a");
	refused(
	    LIMITS SEG "    - name: a\n      ranges: [10.0.0.0/16]\n      reach: [dmz]\n",
	    "p.yaml:8:15: network.segments[0].reach[0]: expected the name of a segment, got dmz");
	refused(LIMITS SEG "    - name: a\n      ranges: [10.0.0.0/16]\n      vlan: 4095\n",
		"p.yaml:8:13: network.segments[0].vlan: expected a VLAN id from 1 to 4094, got "
		"\"4095\"");
	refused(
	    LIMITS SEG "    - name: a\n      ranges: [10.0.0.0/16]\n      ethertypes: [0x8100]\n",
	    "p.yaml:8:20: network.segments[0].ethertypes[0]: expected an ethertype from 0x0600 "
	    "to 0xffff such as 0x88cc, not a VLAN tag (0x8100, 0x88a8, 0x9100), got \"0x8100\"");
	refused_with(LIMITS SEG
		     "    - name: a\n      ranges: [10.0.0.0/16]\n      ethertypes: [2048]\n",
		     "p.yaml:8:20: network.segments[0].ethertypes[0]: expected an ethertype");
	refused(LIMITS SEG "    - name: a\n      ranges: [10.0.0.0/16]\n      egress:\n"
			   "        - to: 0.0.0.0/0\n          ports: 53\n",
		"p.yaml:10:18: network.segments[0].egress[0].ports: ports need proto tcp or udp");
	refused(
	    LIMITS SEG "    - name: a\n      ranges: [10.0.0.0/16]\n      egress:\n"
		       "        - to: 0.0.0.0/0\n          proto: udp\n          ports: 0\n",
	    "p.yaml:11:18: network.segments[0].egress[0].ports: expected a port or a range such "
	    "as 8000-8100 (1 to 65535), got \"0\"");
	refused(
	    LIMITS SEG "    - name: a\n      ranges: [10.0.0.0/16]\n      egress:\n"
		       "        - to: 0.0.0.0/0\n          proto: sctp\n",
	    "p.yaml:10:18: network.segments[0].egress[0].proto: expected any, tcp, udp or icmp, "
	    "got \"sctp\"");
	refused(LIMITS SEG "    - name: a\n      ranges: [10.0.0.0/16]\n      egress:\n"
			   "        - proto: tcp\n",
		"p.yaml:9:11: network.segments[0].egress[0].to: required field is missing");
	refused(LIMITS SEG "    - name: a\n",
		"p.yaml:6:7: network.segments[0].ranges: required field is missing");
	refused(LIMITS SEG "    - name: A\n      ranges: []\n",
		"p.yaml:6:13: network.segments[0].name: expected 1 to 32 characters from a-z, 0-9 "
		"and -, got \"A\"");
	refused(LIMITS "network:\n  segment: []\n",
		"p.yaml:5:3: network.segment: unknown key (expected one of segments)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_cgroup_all),	  T(test_cgroup_partial_and_max), T(test_cgroup_refused),
	    T(test_sandbox_all),  T(test_sandbox_partial),	  T(test_sandbox_refused),
	    T(test_network_good), T(test_network_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
