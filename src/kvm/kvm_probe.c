/* kvm_probe.c: whether /dev/kvm runs an ordinary guest, and which module serves it. */
#include "kvm/kvm_probe.h"
#include "util/bytes.h"

#include "kvm/kvm.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROBE_RAM 0x2000
#define PROBE_ENTRY 0x1000
#define PROBE_PORT 0xe9
#define PROBE_SUM 0x2345
/* After the bound, how long the caller waits for the child's answer before SIGKILL, and then
 * for the killed child to go. */
#define PROBE_GRACE_MS 1000
#define PROBE_REAP_MS 1000
/* Once the bound has passed, the timer fires again this often, in case a kick came just before
 * KVM_RUN was entered (immediate_exit makes that race harmless, the repeat is belt and braces). */
#define PROBE_REKICK_US 20000

/*
 * Real mode at 0:0x1000. It counts down from 8M before computing its answer, so an exit proves
 * instructions ran, and ran on the CPU: 16M instructions take milliseconds under KVM, and about a
 * tenth of a second in the nested emulated host, but seconds where the module emulates them one
 * by one, as kvm_pvm does for a guest not built for it (about 0.6 us each): there the probe meets
 * its bound, as an ordinary kernel would never finish booting.
 */
static const uint8_t probe_code[] = {
    0x66, 0xb9, 0x00, 0x00, 0x80, 0x00, /* mov ecx, 0x800000 */
    0x66, 0x49,				/* dec ecx */
    0x75, 0xfc,				/* jnz to the dec */
    0xb8, 0x34, 0x12,			/* mov ax, 0x1234 */
    0x05, 0x11, 0x11,			/* add ax, 0x1111 */
    0xba, 0xe9, 0x00,			/* mov dx, 0xe9 */
    0xef,				/* out dx, ax */
    0xf4,				/* hlt */
    0xeb, 0xfd,				/* jmp to the hlt */
};

static struct kvm_run *volatile probe_run_area;

/* The timer's kick: KVM_RUN returns EINTR at once, or does not start (KVM_CAP_IMMEDIATE_EXIT). */
static void probe_kick(int sig)
{
	struct kvm_run *run = probe_run_area;

	(void)sig;
	if (run)
		run->immediate_exit = 1;
}

static unsigned us_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (unsigned)((t.tv_sec - t0->tv_sec) * 1000000 + (t.tv_nsec - t0->tv_nsec) / 1000);
}

/* Records that STEP failed with errno; returns -1 for the caller to pass on. */
static int failed(struct kvm_probe *p, const char *step)
{
	p->verdict = KVM_PROBE_FAILED;
	p->err = errno;
	snprintf(p->step, sizeof(p->step), "%s", step);
	return -1;
}

/* The guest's one page of code and its vCPU in real mode at PROBE_ENTRY. Returns the vCPU fd. */
static int probe_setup(int dev_fd, struct kvm_probe *p, struct kvm_run **run, size_t *run_size)
{
	struct kvm_userspace_memory_region region = {.memory_size = PROBE_RAM};
	struct kvm_regs regs = {.rip = PROBE_ENTRY, .rflags = 0x2};
	struct kvm_sregs sregs;
	uint8_t *ram;
	int vm, vcpu, size;

	size = ioctl(dev_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(struct kvm_run))
		return failed(p, "KVM_GET_VCPU_MMAP_SIZE");
	vm = ioctl(dev_fd, KVM_CREATE_VM, 0);
	if (vm < 0)
		return failed(p, "KVM_CREATE_VM");
	/* Intel without unrestricted guest runs real mode through a vm86 TSS of KVM's own. */
	if (ioctl(vm, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR))
		return failed(p, "KVM_SET_TSS_ADDR");
	ram = mmap(NULL, PROBE_RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		return failed(p, "mmap of the guest's RAM");
	memcpy(ram + PROBE_ENTRY, probe_code, sizeof(probe_code));
	region.userspace_addr = (uint64_t)(uintptr_t)ram;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region))
		return failed(p, "KVM_SET_USER_MEMORY_REGION");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return failed(p, "KVM_CREATE_VCPU");
	*run_size = (size_t)size;
	*run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (*run == MAP_FAILED)
		return failed(p, "mmap of the vCPU's kvm_run");
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs))
		return failed(p, "KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs))
		return failed(p, "KVM_SET_SREGS");
	if (ioctl(vcpu, KVM_SET_REGS, &regs))
		return failed(p, "KVM_SET_REGS");
	return vcpu;
}

/* Runs the vCPU until its I/O exit, any other exit, or BOUND_MS. */
static void probe_run(int vcpu, struct kvm_run *run, size_t run_size, unsigned bound_ms,
		      struct kvm_probe *p)
{
	struct itimerval timer = {
	    .it_value = {.tv_sec = bound_ms / 1000, .tv_usec = (long)(bound_ms % 1000) * 1000},
	    .it_interval = {.tv_usec = PROBE_REKICK_US},
	};
	struct sigaction sa = {.sa_handler = probe_kick}; /* no SA_RESTART: KVM_RUN must return */
	struct timespec t0;

	sigemptyset(&sa.sa_mask);
	probe_run_area = run;
	if (sigaction(SIGALRM, &sa, NULL) || setitimer(ITIMER_REAL, &timer, NULL)) {
		failed(p, "setting the probe's timer");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int r = ioctl(vcpu, KVM_RUN, 0);

		p->run_us = us_since(&t0);
		if ((r < 0 && errno == EINTR) || (r == 0 && run->exit_reason == KVM_EXIT_INTR)) {
			if (p->run_us >= bound_ms * 1000U) {
				p->verdict = KVM_PROBE_STUCK;
				return;
			}
			run->immediate_exit = 0;
			continue;
		}
		if (r < 0) {
			failed(p, "KVM_RUN");
			return;
		}
		p->exit_reason = run->exit_reason;
		p->verdict = KVM_PROBE_WRONG_EXIT;
		if (run->exit_reason == KVM_EXIT_IO && run->io.data_offset <= run_size - 2) {
			const uint8_t *d = (const uint8_t *)run + run->io.data_offset;

			p->io_port = run->io.port;
			p->io_value = run->io.size == 2 ? (uint32_t)(d[0] | d[1] << 8) : d[0];
			if (run->io.direction == KVM_EXIT_IO_OUT && run->io.size == 2 &&
			    run->io.port == PROBE_PORT && p->io_value == PROBE_SUM)
				p->verdict = KVM_PROBE_RAN;
		}
		return;
	}
}

/* The child: one answer down OUT_FD, then gone. Its VM dies with it. */
static void probe_child(int dev_fd, unsigned bound_ms, int out_fd)
{
	struct kvm_probe p = {.verdict = KVM_PROBE_FAILED};
	struct kvm_run *run = NULL;
	size_t run_size = 0;
	sigset_t only_alarm;
	int vcpu;

	/* Orphaned (its caller killed), it must not linger. Only the kick may interrupt it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigfillset(&only_alarm);
	sigdelset(&only_alarm, SIGALRM);
	sigprocmask(SIG_SETMASK, &only_alarm, NULL);
	vcpu = probe_setup(dev_fd, &p, &run, &run_size);
	if (vcpu >= 0)
		probe_run(vcpu, run, run_size, bound_ms, &p);
	(void)!write(out_fd, &p, sizeof(p));
	_exit(0);
}

/* Waits up to MS for the child to exit and reaps it; true when it was. A pidfd wakes us the
 * moment it exits: a boot should not wait out a polling interval on every start. */
static bool reap(pid_t child, int *status, unsigned ms)
{
	const struct timespec pause = {.tv_nsec = 1000000L};
	int pidfd = (int)syscall(SYS_pidfd_open, child, 0);

	if (pidfd >= 0) {
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		int r;

		do
			r = poll(&p, 1, (int)ms);
		while (r < 0 && errno == EINTR);
		close(pidfd);
		/* Readable once it has exited: waitpid no longer blocks. */
		return r > 0 && waitpid(child, status, 0) == child;
	}
	for (unsigned waited = 0;; waited++) { /* kernels before 5.3: no pidfd_open */
		pid_t w = waitpid(child, status, WNOHANG);

		if (w == child || (w < 0 && errno != EINTR))
			return w == child;
		if (waited >= ms)
			return false;
		nanosleep(&pause, NULL);
	}
}

int kvm_probe_run(int dev_fd, unsigned bound_ms, struct kvm_probe *p)
{
	struct timespec t0;
	struct pollfd pfd;
	int fds[2], status = 0, r;
	ssize_t n = -1;
	pid_t child;

	memset(p, 0, sizeof(*p));
	p->verdict = KVM_PROBE_FAILED;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (pipe2(fds, O_CLOEXEC))
		return failed(p, "pipe2");
	child = fork();
	if (child < 0) {
		failed(p, "fork");
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (child == 0) {
		close(fds[0]);
		probe_child(dev_fd, bound_ms, fds[1]);
	}
	close(fds[1]);
	pfd = (struct pollfd){.fd = fds[0], .events = POLLIN};
	do
		r = poll(&pfd, 1, (int)(bound_ms + PROBE_GRACE_MS));
	while (r < 0 && errno == EINTR);
	if (r > 0)
		n = read(fds[0], p, sizeof(*p));
	close(fds[0]);
	if (n != (ssize_t)sizeof(*p)) {
		/* No answer: the kick did not get KVM_RUN out, or the child died. */
		memset(p, 0, sizeof(*p));
		kill(child, SIGKILL);
		if (!reap(child, &status, PROBE_REAP_MS)) {
			p->verdict = KVM_PROBE_STUCK;
			p->unkillable = 1;
		} else if (r == 0 || (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
			p->verdict = KVM_PROBE_STUCK;
		} else {
			p->verdict = KVM_PROBE_FAILED;
			snprintf(p->step, sizeof(p->step), "the probe's process (status 0x%x)",
				 (unsigned)status);
		}
		p->run_us = us_since(&t0);
	} else {
		reap(child, &status, PROBE_REAP_MS);
	}
	p->total_us = us_since(&t0);
	return p->verdict == KVM_PROBE_RAN ? 0 : -1;
}

void kvm_vendor_modules(const char *sys_module, char *buf, size_t size)
{
	static const char *const vendors[] = {"kvm_intel", "kvm_amd", "kvm_pvm"};
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(vendors); i++) {
		char path[256];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", sys_module, vendors[i]);
		if (stat(path, &st) || !S_ISDIR(st.st_mode) || len >= size)
			continue;
		len +=
		    (size_t)snprintf(buf + len, size - len, "%s%s", len ? " or " : "", vendors[i]);
	}
}

const char *kvm_exit_name(uint32_t reason, char *buf, size_t size)
{
	static const char *const names[] = {
	    [KVM_EXIT_UNKNOWN] = "KVM_EXIT_UNKNOWN",
	    [KVM_EXIT_EXCEPTION] = "KVM_EXIT_EXCEPTION",
	    [KVM_EXIT_IO] = "KVM_EXIT_IO",
	    [KVM_EXIT_HLT] = "KVM_EXIT_HLT",
	    [KVM_EXIT_MMIO] = "KVM_EXIT_MMIO",
	    [KVM_EXIT_SHUTDOWN] = "KVM_EXIT_SHUTDOWN",
	    [KVM_EXIT_FAIL_ENTRY] = "KVM_EXIT_FAIL_ENTRY",
	    [KVM_EXIT_INTR] = "KVM_EXIT_INTR",
	    [KVM_EXIT_INTERNAL_ERROR] = "KVM_EXIT_INTERNAL_ERROR",
	};

	if (reason < ARRAY_SIZE(names) && names[reason])
		return names[reason];
	snprintf(buf, size, "KVM exit %u", reason);
	return buf;
}

bool kvm_is_pvm(const char *modules)
{
	return modules && strstr(modules, "kvm_pvm");
}

const char *kvm_device_fix(const char *modules, int err)
{
	if (kvm_is_pvm(modules))
		return kvm_pvm_fix;
	if (err == EACCES || err == EPERM)
		return "run bulwark as root, or as a member of /dev/kvm's group";
	return "load KVM for this CPU (modprobe kvm_intel or modprobe kvm_amd) with virtualization "
	       "enabled in the firmware; inside a VM, turn on nested virtualization";
}

const char kvm_pvm_fix[] =
    "run bulwark where kvm_intel or kvm_amd serves /dev/kvm (bare metal, or a VM with nested "
    "virtualization); on this host, tests/emuhost/emuhost runs it inside an emulated host";

void kvm_probe_describe(const struct kvm_probe *p, const char *module, unsigned bound_ms, char *buf,
			size_t size)
{
	char served[128], name[32];

	/* On kvm_pvm every failure has the one cause: say it first, then what was seen. */
	if (kvm_is_pvm(module) && p->verdict != KVM_PROBE_RAN)
		snprintf(served, sizeof(served),
			 "/dev/kvm is served by %s, which runs only guest kernels built for PVM:",
			 module);
	else if (module && *module)
		snprintf(served, sizeof(served), "/dev/kvm (%s)", module);
	else
		snprintf(served, sizeof(served), "/dev/kvm");
	switch (p->verdict) {
	case KVM_PROBE_RAN:
		snprintf(buf, size, "%s ran a test guest to its I/O exit in %u us", served,
			 p->run_us);
		return;
	case KVM_PROBE_STUCK:
		snprintf(buf, size, "%s%s a test guest made no progress in %u ms%s", served,
			 kvm_is_pvm(module) ? "" : " cannot run guests:", bound_ms,
			 p->unkillable ? " (and its process outlived SIGKILL)" : "");
		return;
	case KVM_PROBE_WRONG_EXIT:
		if (p->exit_reason == KVM_EXIT_IO)
			snprintf(
			    buf, size,
			    "%s ran a test guest wrongly: it wrote 0x%x to port 0x%x, expected "
			    "0x%x to port 0x%x",
			    served, p->io_value, p->io_port, PROBE_SUM, PROBE_PORT);
		else
			snprintf(buf, size, "%s%s a test guest stopped with %s before its I/O exit",
				 served, kvm_is_pvm(module) ? "" : " cannot run guests:",
				 kvm_exit_name(p->exit_reason, name, sizeof(name)));
		return;
	case KVM_PROBE_FAILED:
		snprintf(buf, size, "%s%s %s failed%s%s", served,
			 kvm_is_pvm(module) ? "" : " cannot run guests:", p->step,
			 p->err ? ": " : "", p->err ? strerror(p->err) : "");
		return;
	}
	snprintf(buf, size, "%s unknown probe verdict", served);
}

const char *kvm_probe_fix(const struct kvm_probe *p, const char *module)
{
	if (p->verdict == KVM_PROBE_RAN)
		return "";
	if (kvm_is_pvm(module))
		return kvm_pvm_fix;
	return "look in the kernel log (dmesg) for KVM's complaint; inside a VM, nested "
	       "virtualization may be off or broken (kvm_intel nested=1, kvm_amd nested=1)";
}

int kvm_probe_check(int dev_fd, struct bw_error *err)
{
	char modules[64], line[512];
	struct kvm_probe p;

	if (kvm_probe_run(dev_fd, KVM_PROBE_BOUND_MS, &p) == 0) {
		log_debug("kvm: a test guest ran to its I/O exit in %u us (%u us with its process)",
			  p.run_us, p.total_us);
		return 0;
	}
	kvm_vendor_modules("/sys/module", modules, sizeof(modules));
	kvm_probe_describe(&p, modules, KVM_PROBE_BOUND_MS, line, sizeof(line));
	return bw_errorf(err, BW_ERR_HOST, "%s; %s", line, kvm_probe_fix(&p, modules));
}
