/* boot_bench.c: boots one VM with a given VMM command line and measures it up to the guest's init.
 *
 * It runs the command with stdout on a pipe, and when the guest's marker line appears there it
 * records, for that moment:
 *   init_ms        wall time from just before fork() to reading the marker
 *   cpu_ms         the VMM's own CPU time: utime + stime - guest_time of /proc/PID/stat
 *                  (all threads, clock-tick resolution)
 *   rss_extra_kib  the sum of Rss in /proc/PID/smaps over every mapping but guest RAM, which is
 *                  the anonymous mapping(s) at least --guest-mem in size
 * Then it lets the guest finish (or kills the VMM after --finish-timeout) and prints one line:
 *   ok init_ms=.. cpu_ms=.. rss_extra_kib=.. [more fields] exit=..
 * or, when the marker never came:
 *   fail reason=.. ...
 * Exit status: 0 with measurements, 1 when the run failed, 2 for bad arguments.
 */
#include "util/bytes.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MARKER "BULWARK-BENCH-INIT"

static const char usage[] =
    "usage: boot_bench [--marker STR] [--guest-mem MiB] [--timeout SEC] [--finish-timeout SEC]\n"
    "                  [--log FILE] -- VMM [ARGS...]\n"
    "  --marker STR          line the guest's init prints first (default " DEFAULT_MARKER ")\n"
    "  --guest-mem MiB       configured guest RAM; anonymous mappings this big are guest RAM\n"
    "                        (default 256)\n"
    "  --timeout SEC         give up when the marker has not come after SEC seconds (default 120)\n"
    "  --finish-timeout SEC  after the marker, kill the VMM if it has not exited (default 30)\n"
    "  --log FILE            write the VMM's stdout and stderr to FILE\n"
    "  --top N               also print (to stderr) the N biggest contributors to rss_extra_kib\n"
    "Prints one line: \"ok init_ms=.. cpu_ms=.. rss_extra_kib=.. ...\" or \"fail reason=..\".\n";

static volatile sig_atomic_t child_pgid;

static void on_signal(int sig)
{
	if (child_pgid > 0)
		kill(-child_pgid, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static bool parse_num(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v <= 0)
		return false;
	*out = v;
	return true;
}

struct cpu_sample {
	bool ok;
	unsigned long long utime, stime, guest; /* clock ticks */
};

/* Fields 14 (utime), 15 (stime) and 43 (guest_time) of /proc/PID/stat. They cover every thread of
 * the process, live or exited; utime already includes guest_time, hence the subtraction later. */
static struct cpu_sample read_cpu(pid_t pid)
{
	struct cpu_sample s = {0};
	char path[64], buf[4096];
	ssize_t n;
	int fd;
	char *p, *save = NULL;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return s;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return s;
	buf[n] = '\0';
	/* comm (field 2) may hold spaces and parentheses; the fields after the last ')' do not. */
	p = strrchr(buf, ')');
	if (!p)
		return s;
	int field = 3;
	bool have_u = false, have_s = false, have_g = false;
	for (char *tok = strtok_r(p + 1, " \n", &save); tok;
	     tok = strtok_r(NULL, " \n", &save), field++) {
		if (field == 14) {
			s.utime = strtoull(tok, NULL, 10);
			have_u = true;
		} else if (field == 15) {
			s.stime = strtoull(tok, NULL, 10);
			have_s = true;
		} else if (field == 43) {
			s.guest = strtoull(tok, NULL, 10);
			have_g = true;
			break;
		}
	}
	s.ok = have_u && have_s && have_g;
	return s;
}

/* Rss of the mappings beyond guest RAM, grouped by what backs them, for --top. */
struct by_name {
	char name[160];
	unsigned long long rss; /* KiB */
};
static struct by_name groups[512];
static unsigned ngroups;

static void group_add(const char *name, unsigned long long rss)
{
	unsigned i;

	for (i = 0; i < ngroups; i++)
		if (!strcmp(groups[i].name, name))
			break;
	if (i == ngroups) {
		if (ngroups == ARRAY_SIZE(groups))
			i = ngroups - 1; /* fold the rest into the last slot */
		else
			snprintf(groups[ngroups++].name, sizeof(groups[0].name), "%s", name);
	}
	groups[i].rss += rss;
}

static int by_rss_desc(const void *a, const void *b)
{
	const struct by_name *x = a, *y = b;

	return x->rss < y->rss ? 1 : x->rss > y->rss ? -1 : 0;
}

struct mem_sample {
	bool ok;
	unsigned long long rss_total, rss_extra, anon_extra, pss_extra; /* KiB */
	unsigned long long ram_size, ram_rss;				/* KiB */
	unsigned ram_maps;
};

/* Sums /proc/PID/smaps. Guest RAM is every anonymous mapping (no file, no name but an optional
 * "[anon:...]" one) whose Size is at least guest_kib. */
static struct mem_sample read_mem(pid_t pid, unsigned long long guest_kib)
{
	struct mem_sample m = {0};
	char path[64], line[1024];
	FILE *f;
	bool cur_ram = false;
	char cur_name[160] = "";

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return m;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off, inode, v;
		char perms[8], dev[32];
		int name_at = 0;

		if (sscanf(line, "%llx-%llx %7s %llx %31s %llu %n", &start, &end, perms, &off, dev,
			   &inode, &name_at) == 6) {
			char *name = line + name_at;
			name[strcspn(name, "\n")] = '\0';
			bool anon = inode == 0 && (name[0] == '\0' || !strncmp(name, "[anon:", 6));
			cur_ram = anon && (end - start) / 1024 >= guest_kib;
			snprintf(cur_name, sizeof(cur_name), "%s", name[0] ? name : "[anonymous]");
			if (cur_ram) {
				m.ram_maps++;
				m.ram_size += (end - start) / 1024;
			}
			continue;
		}
		if (sscanf(line, "Rss: %llu kB", &v) == 1) {
			m.rss_total += v;
			if (cur_ram)
				m.ram_rss += v;
			else {
				m.rss_extra += v;
				group_add(cur_name, v);
			}
		} else if (!cur_ram && sscanf(line, "Pss: %llu kB", &v) == 1) {
			m.pss_extra += v;
		} else if (!cur_ram && sscanf(line, "Anonymous: %llu kB", &v) == 1) {
			m.anon_extra += v;
		}
	}
	m.ok = !ferror(f);
	fclose(f);
	return m;
}

/* Finds marker in a stream read in chunks: carry holds the last len-1 bytes seen. */
struct matcher {
	const char *marker;
	size_t len;
	char carry[256];
	size_t carried;
};

static bool matcher_feed(struct matcher *mt, const char *data, size_t n)
{
	char window[256 + 4096];
	size_t off = 0;
	bool found = false;

	while (off < n && !found) {
		size_t chunk = n - off < 4096 ? n - off : 4096;
		size_t w = mt->carried;

		memcpy(window, mt->carry, w);
		memcpy(window + w, data + off, chunk);
		w += chunk;
		found = memmem(window, w, mt->marker, mt->len) != NULL;
		mt->carried = w < mt->len - 1 ? w : mt->len - 1;
		memcpy(mt->carry, window + w - mt->carried, mt->carried);
		off += chunk;
	}
	return found;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (fd >= 0 && n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

static void describe_status(int status, char *buf, size_t n)
{
	if (WIFEXITED(status))
		snprintf(buf, n, "%d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, n, "signal%d", WTERMSIG(status));
	else
		snprintf(buf, n, "unknown");
}

int main(int argc, char **argv)
{
	const char *marker = DEFAULT_MARKER, *log_path = NULL;
	double guest_mib = 256, timeout_s = 120, finish_s = 30, top = 0;
	int i, pfd[2], log_fd = -1;
	pid_t pid;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			return 0;
		}
		if (!v)
			goto bad;
		if (!strcmp(a, "--marker") && *v)
			marker = v;
		else if (!strcmp(a, "--log"))
			log_path = v;
		else if (!strcmp(a, "--guest-mem") && parse_num(v, &guest_mib))
			;
		else if (!strcmp(a, "--timeout") && parse_num(v, &timeout_s))
			;
		else if (!strcmp(a, "--finish-timeout") && parse_num(v, &finish_s))
			;
		else if (!strcmp(a, "--top") && parse_num(v, &top))
			;
		else
			goto bad;
		i++;
	}
	if (i >= argc || strlen(marker) >= 256)
		goto bad;

	if (log_path) {
		log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
		if (log_fd < 0) {
			printf("fail reason=log-open errno=%d\n", errno);
			return 1;
		}
	}
	if (pipe2(pfd, O_CLOEXEC)) {
		printf("fail reason=pipe errno=%d\n", errno);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);

	double t0 = now_ms();
	pid = fork();
	if (pid < 0) {
		printf("fail reason=fork errno=%d\n", errno);
		return 1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		/* No terminal on stdin: the VMM must neither read the user's keys nor set raw mode. */
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(pfd[1], 1);
		if (log_fd >= 0)
			dup2(log_fd, 2);
		execvp(argv[i], argv + i);
		dprintf(log_fd >= 0 ? log_fd : 2, "boot_bench: cannot run %s: %s\n", argv[i],
			strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid); /* also in the parent, so the group exists before any kill below */
	child_pgid = pid;
	close(pfd[1]);

	struct matcher mt = {.marker = marker, .len = strlen(marker)};
	struct cpu_sample cpu = {0};
	struct mem_sample mem = {0};
	double t_init = 0, deadline = t0 + timeout_s * 1e3;
	bool seen = false, eof = false, exited = false;
	const char *fail = NULL;
	int status = 0;
	char buf[65536];

	/* Phase 1 reads until the marker; phase 2 drains output until EOF or the finish deadline. */
	while (!eof) {
		double left = deadline - now_ms();
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		int r;

		if (left <= 0) {
			fail = seen ? NULL : "timeout";
			break;
		}
		r = poll(&p, 1, left > 1000 ? 1000 : (int)left + 1);
		if (r < 0 && errno != EINTR) {
			fail = "poll";
			break;
		}
		if (r <= 0)
			continue;
		ssize_t n = read(pfd[0], buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fail = "read";
			break;
		}
		if (n == 0) {
			eof = true;
			break;
		}
		if (!seen && matcher_feed(&mt, buf, (size_t)n)) {
			/* Time first, then the cheap CPU counters, then the slower smaps walk. */
			t_init = now_ms();
			cpu = read_cpu(pid);
			mem = read_mem(pid, (unsigned long long)(guest_mib * 1024));
			seen = true;
			deadline = now_ms() + finish_s * 1e3;
		}
		write_all(log_fd, buf, (size_t)n);
	}
	if (!seen && !fail)
		fail = "no-marker"; /* EOF: the VMM closed stdout, almost surely by exiting */

	/* Reap: wait for the exit that EOF announces, up to the deadline, then kill. */
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid) {
			exited = true;
			break;
		}
		if (w < 0 && errno != EINTR)
			break;
		if (now_ms() >= deadline)
			break;
		usleep(10000);
	}
	bool killed = false;
	if (!exited) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		killed = true;
	}
	/* Anything else in the process group (helpers the VMM forked) goes too. */
	kill(-pid, SIGKILL);
	child_pgid = 0;
	double t_end = now_ms();

	char st[32];
	describe_status(status, st, sizeof(st));
	if (!seen) {
		printf("fail reason=%s after_ms=%.0f exit=%s\n", fail, t_end - t0,
		       killed ? "killed" : st);
		return 1;
	}

	long hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		hz = 100;
	printf("ok init_ms=%.1f", t_init - t0);
	if (cpu.ok) {
		unsigned long long own = cpu.utime + cpu.stime;
		own = own > cpu.guest ? own - cpu.guest : 0;
		printf(" cpu_ms=%.0f cpu_user_ms=%.0f cpu_sys_ms=%.0f guest_ms=%.0f",
		       (double)own * 1000 / hz,
		       (double)(cpu.utime > cpu.guest ? cpu.utime - cpu.guest : 0) * 1000 / hz,
		       (double)cpu.stime * 1000 / hz, (double)cpu.guest * 1000 / hz);
	} else {
		printf(" cpu_ms=NA");
	}
	if (mem.ok) {
		printf(
		    " rss_extra_kib=%llu anon_extra_kib=%llu pss_extra_kib=%llu rss_total_kib=%llu"
		    " ram_maps=%u ram_kib=%llu ram_rss_kib=%llu",
		    mem.rss_extra, mem.anon_extra, mem.pss_extra, mem.rss_total, mem.ram_maps,
		    mem.ram_size, mem.ram_rss);
	} else {
		printf(" rss_extra_kib=NA");
	}
	printf(" total_ms=%.0f exit=%s\n", t_end - t0, killed ? "killed" : st);
	fflush(stdout);
	if (mem.ok && top >= 1) {
		qsort(groups, ngroups, sizeof(groups[0]), by_rss_desc);
		for (unsigned g = 0; g < ngroups && g < (unsigned)top && groups[g].rss; g++)
			fprintf(stderr, "boot_bench: rss beyond guest RAM: %8llu KiB  %s\n",
				groups[g].rss, groups[g].name);
	}
	return 0;

bad:
	fputs(usage, stderr);
	return 2;
}
