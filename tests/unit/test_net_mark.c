/* test_net_mark.c: `bulwark net up|down` and `run` touch only taps marked as the VM's own, against
 * a pretend rtnetlink (fake_rtnl.h). */
#include "policy_test.h"

#include "fake_rtnl.h"
#include "net/net_cmd.h"
#include "net/net_mark.h"

#include <stdlib.h>

/* Two VMs under one policy: the same uid and gid, as the default policy gives every VM. */
#define POLICY_IDS LIMITS "sandbox:\n  uid: 65534\n  gid: 65534\n"

static char path_a[] = "/tmp/bulwark-net-mark-a-XXXXXX",
	    path_b[] = "/tmp/bulwark-net-mark-b-XXXXXX";
static struct vm_config vm_a, vm_b;
static char mark_a[NL_ALIAS_MAX + 1], mark_b[NL_ALIAS_MAX + 1];
static char stderr_text[2048];

/* A config at PATH (a real file: the mark holds its real path) with one NIC on tap bwtap0. */
static void load_at(char *path, const char *name, struct vm_config *cfg, char *mark)
{
	char text[128], why[256];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	snprintf(text, sizeof(text), "name: %s\nkernel: k\nnics:\n  - tap: bwtap0\n", name);
	if (config_parse(path, text, strlen(text), cfg, &err))
		fail_msg("refused %s: %s", text, err.msg);
	if (net_mark(cfg, mark, why, sizeof(why)))
		fail_msg("no mark: %s", why);
}

static int setup(void **state)
{
	(void)state;
	unsetenv("SUDO_UID");
	unsetenv("SUDO_GID");
	parse_ok(POLICY_IDS);
	load_at(path_a, "a", &vm_a, mark_a);
	/* The same name as A's: the config's path still tells them apart. */
	load_at(path_b, "a", &vm_b, mark_b);
	return 0;
}

static int cleanup(void **state)
{
	(void)state;
	unlink(path_a);
	unlink(path_b);
	config_free(&vm_a);
	config_free(&vm_b);
	policy_free(&pol);
	return 0;
}

static int before_each(void **state)
{
	(void)state;
	fake_rtnl_reset();
	return 0;
}

/* Runs net up (UP) or net down of CFG with stderr in stderr_text. Returns what it returns. */
static int net(bool up, const struct vm_config *cfg)
{
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO), r;
	size_t n;

	assert_non_null(f);
	fflush(stderr);
	dup2(fileno(f), STDERR_FILENO);
	r = up ? net_up(cfg, &pol) : net_down(cfg, &pol);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	n = fread(stderr_text, 1, sizeof(stderr_text) - 1, f);
	stderr_text[n] = '\0';
	fclose(f);
	return r;
}

static void test_marks(void **state)
{
	char mark[NL_ALIAS_MAX + 1], long_path[300];

	(void)state;
	assert_int_equal(net_mark_make(mark, "web-1", "/etc/bulwark/web-1.yaml"), 0);
	assert_string_equal(mark, "bulwark:web-1:/etc/bulwark/web-1.yaml");
	assert_string_equal(mark_a + strlen(mark_a) - strlen(path_a), path_a);
	assert_string_not_equal(mark_a, mark_b);
	/* One that would not fit an alias is refused, not cut short (a cut mark may be another's).
	 */
	memset(long_path, 'x', sizeof(long_path) - 1);
	long_path[sizeof(long_path) - 1] = '\0';
	long_path[256 - strlen("bulwark:a:")] = '\0';
	assert_int_equal(net_mark_make(mark, "a", long_path), -ENAMETOOLONG);
	long_path[255 - strlen("bulwark:a:")] = '\0';
	assert_int_equal(net_mark_make(mark, "a", long_path), 0);
	assert_int_equal(strlen(mark), NL_ALIAS_MAX);
}

/* net up makes the tap with A's mark before it persists, reads it back, and a second run only
 * brings it up again. */
static void test_up_marks_new_tap(void **state)
{
	(void)state;
	assert_int_equal(net(true, &vm_a), 0);
	assert_true(fake_links[0].present && fake_links[0].persist);
	assert_string_equal(fake_links[0].alias, mark_a);
	assert_true(fake_rtnl_alias_persist);
	assert_int_equal(fake_links[0].owner, 65534);
	assert_int_equal(net(true, &vm_a), 0);
	assert_true(fake_links[0].present && !fake_links[1].present);
	assert_string_equal(stderr_text, "");
}

/* A kernel that acknowledges the alias and keeps none: the read-back refuses the tap. */
static void test_up_mark_read_back(void **state)
{
	(void)state;
	fake_rtnl_drops_alias = true;
	assert_int_equal(net(true, &vm_a), -1);
	assert_non_null(
	    strstr(stderr_text, "bulwark: net up: bwtap0: refused: it has no bulwark mark"));
}

/* B names A's tap: up neither moves nor brings it up, down does not delete it. */
static void test_other_vms_tap(void **state)
{
	char want[1024];

	(void)state;
	fake_tap("bwtap0", 65534, 65534, mark_a)->master = 3;
	assert_int_equal(net(true, &vm_b), -1);
	snprintf(want, sizeof(want),
		 "bulwark: net up: bwtap0: refused: it is marked \"%s\", not \"%s\" (another VM's "
		 "tap: give this VM a tap of its own in nics[].tap; if this VM's config was moved "
		 "from there, ip link del bwtap0 and run net up again)\n",
		 mark_a, mark_b);
	assert_string_equal(stderr_text, want);
	assert_int_equal(net(false, &vm_b), -1);
	snprintf(want, sizeof(want),
		 "bulwark: net down: bwtap0: refused: it is marked \"%s\", not \"%s\" (another "
		 "VM's tap: left in place; if this VM's config was moved from there, ip link del "
		 "bwtap0)\n",
		 mark_a, mark_b);
	assert_string_equal(stderr_text, want);
	assert_int_equal(fake_rtnl_changes, 0);
	assert_true(fake_links[0].present && fake_links[0].master == 3 && !fake_links[0].up);
}

/* A tap made before marks (or by ip tuntap), with the right owner: refused both ways. */
static void test_unmarked_tap(void **state)
{
	char want[1024];

	(void)state;
	fake_tap("bwtap0", 65534, 65534, "");
	assert_int_equal(net(true, &vm_a), -1);
	snprintf(
	    want, sizeof(want),
	    "bulwark: net up: bwtap0: refused: it has no bulwark mark, not \"%s\" (made by "
	    "hand or by a bulwark before marks: if it is this VM's, ip link del bwtap0 and run "
	    "net up again)\n",
	    mark_a);
	assert_string_equal(stderr_text, want);
	assert_int_equal(net(false, &vm_a), -1);
	assert_non_null(strstr(stderr_text, "if it is this VM's, ip link del bwtap0)\n"));
	assert_int_equal(fake_rtnl_changes, 0);
	assert_true(fake_links[0].present);
}

static void test_own_tap(void **state)
{
	(void)state;
	fake_tap("bwtap0", 65534, 65534, mark_a);
	assert_int_equal(net(true, &vm_a), 0);
	assert_true(fake_links[0].up);
	assert_int_equal(net(false, &vm_a), 0);
	assert_false(fake_links[0].present);
}

/* `bulwark run`: another VM's mark is refused; its own, none, or another tool's alias are not. */
static void test_run_check(void **state)
{
	char why[1024];

	(void)state;
	fake_tap("bwtap0", 65534, 65534, mark_a);
	assert_int_equal(net_mark_check_tap("bwtap0", mark_a, why, sizeof(why)), 0);
	assert_int_equal(net_mark_check_tap("bwtap0", mark_b, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "is marked \"bulwark:a:/tmp/bulwark-net-mark-a-"));
	/* A config with no mark of its own (path too long) is no tap's owner. */
	assert_int_equal(net_mark_check_tap("bwtap0", "", why, sizeof(why)), 1);
	snprintf(fake_links[0].alias, sizeof(fake_links[0].alias), "uplink of rack 4");
	assert_int_equal(net_mark_check_tap("bwtap0", mark_b, why, sizeof(why)), 0);
	fake_links[0].alias[0] = '\0';
	assert_int_equal(net_mark_check_tap("bwtap0", mark_b, why, sizeof(why)), 0);
	assert_int_equal(net_mark_check_tap("nosuch", mark_b, why, sizeof(why)), -ENODEV);
	assert_int_equal(fake_rtnl_changes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_marks, before_each),
	    cmocka_unit_test_setup(test_up_marks_new_tap, before_each),
	    cmocka_unit_test_setup(test_up_mark_read_back, before_each),
	    cmocka_unit_test_setup(test_other_vms_tap, before_each),
	    cmocka_unit_test_setup(test_unmarked_tap, before_each),
	    cmocka_unit_test_setup(test_own_tap, before_each),
	    cmocka_unit_test_setup(test_run_check, before_each),
	};

	return cmocka_run_group_tests(tests, setup, cleanup);
}
