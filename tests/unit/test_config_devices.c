/* test_config_devices.c: disks, nics, rng and virtio_cmdline in the VM config, and their refusals.
 */
#include "config_test.h"
#include "util/bytes.h"

#define HEAD "name: web\nkernel: k\n"

static void assert_loc(struct config_loc loc, unsigned line, unsigned column)
{
	assert_int_equal(loc.line, line);
	assert_int_equal(loc.column, column);
}

static void test_full_example(void **state)
{
	(void)state;
	parse_ok(HEAD "disks:\n"
		      "  - path: disk.img\n"
		      "    read_only: true\n"
		      "    serial: \"data-1\"\n"
		      "  - path: /srv/b.img\n"
		      "nics:\n"
		      "  - tap: tap0\n"
		      "    mac: \"52:54:00:12:34:56\"\n"
		      "  - tap: tap1\n"
		      "rng: true\n"
		      "virtio_cmdline: false\n");
	assert_int_equal(cfg.ndisks, 2);
	assert_string_equal(cfg.disks[0].path, "disk.img");
	assert_true(cfg.disks[0].read_only);
	assert_string_equal(cfg.disks[0].serial, "data-1");
	assert_string_equal(cfg.disks[1].path, "/srv/b.img");
	assert_false(cfg.disks[1].read_only);
	assert_string_equal(cfg.disks[1].serial, "disk1");
	assert_int_equal(cfg.nnics, 2);
	assert_string_equal(cfg.nics[0].tap, "tap0");
	assert_memory_equal(cfg.nics[0].mac, ((uint8_t[]){0x52, 0x54, 0, 0x12, 0x34, 0x56}), 6);
	assert_string_equal(cfg.nics[1].tap, "tap1");
	assert_true(cfg.rng);
	assert_false(cfg.virtio_cmdline);
	/* Every value's own position, for the refusals the device helpers make later. */
	assert_loc(cfg.loc_disks, 4, 3);
	assert_loc(cfg.disks[0].loc, 4, 5);
	assert_loc(cfg.disks[0].loc_path, 4, 11);
	assert_loc(cfg.disks[0].loc_read_only, 5, 16);
	assert_loc(cfg.disks[0].loc_serial, 6, 13);
	assert_loc(cfg.disks[1].loc, 7, 5);
	assert_loc(cfg.disks[1].loc_path, 7, 11);
	assert_loc(cfg.disks[1].loc_read_only, 0, 0);
	assert_loc(cfg.disks[1].loc_serial, 0, 0);
	assert_loc(cfg.loc_nics, 9, 3);
	assert_loc(cfg.nics[0].loc, 9, 5);
	assert_loc(cfg.nics[0].loc_tap, 9, 10);
	assert_loc(cfg.nics[0].loc_mac, 10, 10);
	assert_loc(cfg.nics[1].loc_tap, 11, 10);
	assert_loc(cfg.nics[1].loc_mac, 0, 0);
	assert_loc(cfg.loc_rng, 12, 6);
	assert_loc(cfg.loc_virtio_cmdline, 13, 17);
}

static void test_defaults_and_empty_lists(void **state)
{
	(void)state;
	parse_ok(HEAD);
	assert_int_equal(cfg.ndisks, 0);
	assert_int_equal(cfg.nnics, 0);
	assert_false(cfg.rng);
	assert_false(cfg.virtio_cmdline);
	assert_loc(cfg.loc_disks, 0, 0);
	config_free(&cfg);
	parse_ok(HEAD "disks: []\nnics: []\nrng: false\nvirtio_cmdline: true\n");
	assert_int_equal(cfg.ndisks, 0);
	assert_int_equal(cfg.nnics, 0);
	assert_false(cfg.rng);
	assert_true(cfg.virtio_cmdline);
	assert_loc(cfg.loc_disks, 3, 8);
}

static void test_flow_style(void **state)
{
	(void)state;
	parse_ok(HEAD "disks: [{path: a.img, read_only: false}, {serial: 'x y', path: b.img}]\n"
		      "nics: [{mac: 02:00:00:00:00:01, tap: t}]\n");
	assert_int_equal(cfg.ndisks, 2);
	assert_false(cfg.disks[0].read_only);
	assert_string_equal(cfg.disks[1].serial, "x y");
	assert_loc(cfg.disks[1].loc, 3, 42);
	assert_memory_equal(cfg.nics[0].mac, ((uint8_t[]){2, 0, 0, 0, 0, 1}), 6);
}

static void test_disk_path_resolution(void **state)
{
	(void)state;
	if (parse_as("vms/demo/vm.yaml", HEAD "disks:\n- path: d.img\n- path: /abs/d.img\n"))
		fail_msg("refused: %s", err.msg);
	assert_string_equal(cfg.disks[0].path, "vms/demo/d.img");
	assert_string_equal(cfg.disks[1].path, "/abs/d.img");
}

static void test_serial_forms(void **state)
{
	static const char *const bad[] = {
	    "\"123456789012345678901\"", "\"a\\tb\"", "caf\xc3\xa9", "yes", "''", "~", "[a]"};
	char text[128];

	(void)state;
	parse_ok(HEAD "disks:\n- path: a\n  serial: 12345678901234567890\n");
	assert_string_equal(cfg.disks[0].serial, "12345678901234567890");
	config_free(&cfg);
	parse_ok(HEAD "disks:\n- path: a\n  serial: \"~!x y/z\"\n");
	assert_string_equal(cfg.disks[0].serial, "~!x y/z");
	config_free(&cfg);
	refused(HEAD "disks:\n- path: a\n- path: b\n  serial: \"123456789012345678901\"\n",
		"vm.yaml:6:11: disks[1].serial: expected 1 to 20 printable ASCII characters, "
		"got \"123456789012345678901\"");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(text, sizeof(text), HEAD "disks:\n- path: a\n  serial: %s\n", bad[i]);
		refused_with(text, "vm.yaml:5:11: disks[0].serial: expected 1 to 20 printable "
				   "ASCII characters, got ");
	}
}

static void test_booleans(void **state)
{
	static const char *const bad[] = {"yes", "no", "on", "off", "True",   "FALSE",	  "1",
					  "0",	 "y",  "~",  "[]",  "'true'", "\"false\""};
	char text[128];

	(void)state;
	refused(HEAD "disks:\n- path: a\n  read_only: yes\n",
		"vm.yaml:5:14: disks[0].read_only: expected true or false, got \"yes\"");
	refused(HEAD "rng: 'true'\n",
		"vm.yaml:3:6: rng: expected true or false, got the quoted string \"true\"");
	refused(HEAD "virtio_cmdline:\n", "vm.yaml:3:16: virtio_cmdline: expected true or false, "
					  "got null");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(text, sizeof(text), HEAD "rng: %s\n", bad[i]);
		refused_with(text, "vm.yaml:3:6: rng: expected true or false, got ");
		snprintf(text, sizeof(text), HEAD "disks:\n- path: a\n  read_only: %s\n", bad[i]);
		refused_with(text,
			     "vm.yaml:5:14: disks[0].read_only: expected true or false, got ");
	}
}

static void test_tap_names(void **state)
{
	static const char *const good[] = {"tap0", "123456789012345", "br-x_y.1", "'no'", "a"};
	static const char *const bad[] = {
	    "1234567890123456", "a/b",	      "'a b'", "a:b", "tap%d", "'.'",	 "'..'",
	    "\"a\\tb\"",	"t\xc3\xa5p", "on",    "''",  "~",     "[tap0]", "{a: b}"};
	char text[128];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		snprintf(text, sizeof(text), HEAD "nics:\n- tap: %s\n", good[i]);
		parse_ok(text);
		assert_int_equal(cfg.nnics, 1);
		config_free(&cfg);
	}
	refused(HEAD "nics:\n- tap: tap0\n- tap: a/b\n",
		"vm.yaml:5:8: nics[1].tap: expected an interface name: 1 to 15 printable ASCII "
		"characters but space, /, : and %, not . or .., got \"a/b\"");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(text, sizeof(text), HEAD "nics:\n- tap: %s\n", bad[i]);
		refused_with(text,
			     "vm.yaml:4:8: nics[0].tap: expected an interface name: 1 to 15 ");
	}
}

static void test_mac_forms(void **state)
{
	static const struct {
		const char *text;
		uint8_t mac[6];
	} good[] = {
	    {"52:54:00:12:34:56", {0x52, 0x54, 0x00, 0x12, 0x34, 0x56}},
	    {"'52:54:00:12:34:56'", {0x52, 0x54, 0x00, 0x12, 0x34, 0x56}},
	    {"\"AA:bb:Cc:dD:0e:F0\"", {0xaa, 0xbb, 0xcc, 0xdd, 0x0e, 0xf0}},
	    {"02:00:00:00:00:00", {0x02, 0, 0, 0, 0, 0}},
	    {"fe:ff:ff:ff:ff:ff", {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff}},
	};
	char text[128];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		snprintf(text, sizeof(text), HEAD "nics:\n- tap: t\n  mac: %s\n", good[i].text);
		parse_ok(text);
		assert_memory_equal(cfg.nics[0].mac, good[i].mac, 6);
		config_free(&cfg);
	}
}

static void test_mac_refused(void **state)
{
	static const char *const bad[] = {"52-54-00-12-34-56",
					  "52:54:00:12:34",
					  "52:54:00:12:34:56:78",
					  "5254.0012.3456",
					  "52:54:00:12:34:5g",
					  "52:54:0:12:34:567",
					  "' 52:54:00:12:34:56'",
					  "525400123456",
					  "'52:54:00:12:34:56:'",
					  "52::54:00:12:34:56",
					  "12",
					  "0x525400123456",
					  "52;54;00;12;34;56",
					  "52:54:00:12:34:+6"};
	char text[128];

	(void)state;
	refused(HEAD "nics:\n- tap: t\n  mac: 52-54-00-12-34-56\n",
		"vm.yaml:5:8: nics[0].mac: expected a MAC address such as \"52:54:00:12:34:56\", "
		"got \"52-54-00-12-34-56\"");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(text, sizeof(text), HEAD "nics:\n- tap: t\n  mac: %s\n", bad[i]);
		refused_with(text, "vm.yaml:5:8: nics[0].mac: expected a MAC address such as "
				   "\"52:54:00:12:34:56\", got \"");
	}
	refused(HEAD "nics:\n- tap: t\n  mac: ~\n",
		"vm.yaml:5:8: nics[0].mac: expected a MAC address such as \"52:54:00:12:34:56\", "
		"got null");
	refused(HEAD "nics:\n- tap: t\n  mac: [52, 54]\n",
		"vm.yaml:5:8: nics[0].mac: expected a MAC address such as \"52:54:00:12:34:56\", "
		"got a sequence");
}

static void test_mac_multicast_and_zero_refused(void **state)
{
	static const char *const multicast[] = {"01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff",
						"53:54:00:12:34:56", "33:33:00:00:00:01"};
	char text[128];

	(void)state;
	refused(HEAD "nics:\n- tap: t\n- tap: u\n  mac: \"01:00:5e:00:00:01\"\n",
		"vm.yaml:6:8: nics[1].mac: expected a unicast MAC address (first octet even), got "
		"\"01:00:5e:00:00:01\"");
	for (size_t i = 0; i < ARRAY_SIZE(multicast); i++) {
		snprintf(text, sizeof(text), HEAD "nics:\n- tap: t\n  mac: %s\n", multicast[i]);
		refused_with(text, "vm.yaml:5:8: nics[0].mac: expected a unicast MAC address");
	}
	refused(HEAD "nics:\n- tap: t\n  mac: 00:00:00:00:00:00\n",
		"vm.yaml:5:8: nics[0].mac: expected a MAC address other than all zeros, got "
		"\"00:00:00:00:00:00\"");
}

/* The MACs of nics[0] and nics[1] of VM NAME, without a mac key. */
static void default_macs(const char *name, uint8_t mac[2][6])
{
	char text[128];

	snprintf(text, sizeof(text), "nics:\n- tap: a\n- tap: b\nname: %s\nkernel: k\n", name);
	parse_ok(text);
	memcpy(mac[0], cfg.nics[0].mac, 6);
	memcpy(mac[1], cfg.nics[1].mac, 6);
	config_free(&cfg);
}

static void test_default_mac(void **state)
{
	uint8_t a[2][6], again[2][6], b[2][6];

	(void)state;
	default_macs("web", a);
	default_macs("web", again);
	default_macs("db", b);
	/* Locally administered unicast, stable for one name, apart between nics and names. */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(a[i][0], 0x02);
		assert_int_equal(a[i][5], i);
		assert_memory_equal(a[i], again[i], 6);
		assert_memory_not_equal(a[i], b[i], 6);
	}
	assert_memory_not_equal(a[0], a[1], 6);
	/* The name decides, even when it comes after the nics; a given mac changes nothing else. */
	parse_ok(HEAD "nics:\n- tap: a\n  mac: 52:54:00:12:34:56\n- tap: b\n");
	assert_memory_equal(cfg.nics[1].mac, a[1], 6);
}

static void test_limits(void **state)
{
	char text[1024];
	size_t n;

	(void)state;
	n = (size_t)snprintf(text, sizeof(text), HEAD "disks:\n");
	for (unsigned i = 0; i < CONFIG_DISKS_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "  - path: d%u.img\n", i);
	parse_ok(text);
	assert_int_equal(cfg.ndisks, CONFIG_DISKS_MAX);
	assert_string_equal(cfg.disks[CONFIG_DISKS_MAX - 1].serial, "disk7");
	config_free(&cfg);
	snprintf(text + n, sizeof(text) - n, "  - path: one-more.img\n");
	refused(text, "vm.yaml:4:3: disks: expected at most 8 disks, got 9");

	n = (size_t)snprintf(text, sizeof(text), HEAD "nics:\n");
	for (unsigned i = 0; i < CONFIG_NICS_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "  - tap: tap%u\n", i);
	parse_ok(text);
	assert_int_equal(cfg.nnics, CONFIG_NICS_MAX);
	config_free(&cfg);
	snprintf(text + n, sizeof(text) - n, "  - tap: tap9\n");
	refused(text, "vm.yaml:4:3: nics: expected at most 4 nics, got 5");
}

static void test_unknown_key_in_item(void **state)
{
	(void)state;
	refused(
	    HEAD "disks:\n- path: a\n  size: 1GiB\n",
	    "vm.yaml:5:3: disks[0].size: unknown key (expected one of path, read_only, serial)");
	refused(HEAD "nics:\n- tap: a\n- tap: b\n  Mac: 02:00:00:00:00:01\n",
		"vm.yaml:6:3: nics[1].Mac: unknown key (expected one of tap, mac, segment, ipv4, "
		"ipv6, ipv6_link_local)");
	refused(HEAD "nics:\n- tap: a\n  \"\\e[2J\": 1\n",
		"vm.yaml:5:3: nics[0].\\x1b[2J: unknown key (expected one of tap, mac, segment, "
		"ipv4, ipv6, ipv6_link_local)");
}

static void test_item_not_a_mapping(void **state)
{
	(void)state;
	refused(HEAD "disks:\n- disk.img\n",
		"vm.yaml:4:3: disks[0]: expected a mapping with path, read_only, serial, got "
		"\"disk.img\"");
	refused(HEAD "disks:\n- path: a\n-\n",
		"vm.yaml:5:2: disks[1]: expected a mapping with path, read_only, serial, got null");
	refused(HEAD "nics: [[tap0]]\n", "vm.yaml:3:8: nics[0]: expected a mapping with tap, mac, "
					 "segment, ipv4, ipv6, ipv6_link_local, got a sequence");
}

static void test_list_not_a_sequence(void **state)
{
	(void)state;
	refused(HEAD "disks: disk.img\n",
		"vm.yaml:3:8: disks: expected a sequence of disks, got \"disk.img\"");
	refused(HEAD "disks:\n", "vm.yaml:3:7: disks: expected a sequence of disks, got null");
	refused(HEAD "nics:\n  tap: tap0\n",
		"vm.yaml:4:3: nics: expected a sequence of nics, got a mapping");
}

static void test_missing_required_in_item(void **state)
{
	(void)state;
	refused(HEAD "disks:\n- read_only: true\n",
		"vm.yaml:4:3: disks[0].path: required field is missing");
	refused(HEAD "nics:\n  - tap: a\n  - mac: 02:00:00:00:00:01\n",
		"vm.yaml:5:5: nics[1].tap: required field is missing");
	refused(HEAD "disks: [{}]\n", "vm.yaml:3:9: disks[0].path: required field is missing");
}

static void test_duplicate_key_in_item(void **state)
{
	(void)state;
	refused(HEAD "disks:\n- path: a\n  read_only: true\n  path: b\n",
		"vm.yaml:6:3: disks[0].path: duplicate key (first given on line 4)");
	refused(HEAD "rng: true\nrng: false\n", "vm.yaml:4:1: rng: duplicate key (first given on "
						"line 3)");
}

static void test_duplicate_devices(void **state)
{
	(void)state;
	refused(HEAD "nics:\n- tap: tap0\n- tap: tap1\n- tap: tap0\n",
		"vm.yaml:6:8: nics[2].tap: expected each tap once, got \"tap0\" again (nics[0], "
		"line 4)");
	refused(HEAD "disks:\n- path: a.img\n- path: a.img\n  read_only: true\n",
		"vm.yaml:5:9: disks[1].path: expected each image once, got \"a.img\" again "
		"(disks[0], line 4)");
	/* Compared once resolved: both name /etc/a.img. */
	assert_int_equal(
	    parse_as("/etc/vm.yaml", HEAD "disks:\n- path: a.img\n- path: /etc/a.img\n"), -1);
	assert_string_equal(err.msg, "/etc/vm.yaml:5:9: disks[1].path: expected each image once, "
				     "got \"/etc/a.img\" again (disks[0], line 4)");
	assert_cfg_empty();
	/* The same folder, spelled another way, is a different string: the helper opens both. */
	parse_ok(HEAD "disks:\n- path: a.img\n- path: ./a.img\n");
	assert_int_equal(cfg.ndisks, 2);
}

static void test_refusals_free_disk_paths(void **state)
{
	(void)state;
	/* Paths were allocated before each refusal; ASan reports what config_free missed. */
	refused_with(HEAD "disks:\n- path: a\n- path: b\n  serial: \"\\n\"\n",
		     "vm.yaml:6:11: disks[1].serial: ");
	refused_with(HEAD "disks:\n- path: a\n- path: b\n- path: c\nrng: maybe\n",
		     "vm.yaml:7:6: rng: ");
	refused_with(HEAD "disks:\n- path: a\n- path: b\n  bogus: 1\n",
		     "vm.yaml:6:3: disks[1].bogus: ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_full_example),
	    T(test_defaults_and_empty_lists),
	    T(test_flow_style),
	    T(test_disk_path_resolution),
	    T(test_serial_forms),
	    T(test_booleans),
	    T(test_tap_names),
	    T(test_mac_forms),
	    T(test_mac_refused),
	    T(test_mac_multicast_and_zero_refused),
	    T(test_default_mac),
	    T(test_limits),
	    T(test_unknown_key_in_item),
	    T(test_item_not_a_mapping),
	    T(test_list_not_a_sequence),
	    T(test_missing_required_in_item),
	    T(test_duplicate_key_in_item),
	    T(test_duplicate_devices),
	    T(test_refusals_free_disk_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
