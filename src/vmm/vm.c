/* vm.c: one virtual machine from config to exit: setup in order, the main thread's loop, teardown. */
#include "vmm/vm.h"

#include "kvm/kvm_probe.h"
#include "sandbox/seccomp.h"
#include "util/log.h"
#include "util/notify.h"
#include "vmm/console.h"
#include "vmm/vm_stop.h"
#include "vmm/vm_vcpus.h"
#include "x86/acpi.h"
#include "x86/x86_boot.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

/* Ports that guests poke for delays or POST codes; claimed so they are not counted as strays. */
#define PORT_POST 0x80
#define PORT_DELAY 0xed

void vm_request_stop(struct vm *vm, enum vm_stop_reason reason)
{
	int expected = VM_RUNNING;
	uint64_t one = 1;

	if (__atomic_compare_exchange_n(&vm->stop_reason, &expected, (int)reason, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		(void)!write(vm->stop_fd, &one, sizeof(one));
}

static void on_reset(void *opaque)
{
	vm_request_stop(opaque, VM_STOP_REBOOT);
}

static void on_poweroff(void *opaque)
{
	vm_request_stop(opaque, VM_STOP_POWEROFF);
}

static void serial_irq(void *opaque, int level)
{
	struct vm *vm = opaque;

	if (kvm_irq_line(&vm->kvm, SERIAL_IRQ_COM1, level))
		log_warn("cannot signal the serial interrupt: %s", strerror(errno));
}

static void ignore_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	(void)opaque;
	(void)offset;
	if (!is_write)
		memset(data, 0xff, len);
}

static int setup_devices(struct vm *vm)
{
	struct bus *pio = &vm->pio;
	int r;

	serial_init(&vm->serial, &vm->console, vm->serial_drained_fd, serial_irq, vm);
	vm->i8042 = (struct i8042){.reset = on_reset, .opaque = vm};
	vm->pm = (struct acpi_pm){.poweroff = on_poweroff, .opaque = vm};
	r = bus_register(pio, SERIAL_PORT_COM1, SERIAL_NPORTS, serial_io, &vm->serial, "serial");
	if (!r)
		r = bus_register(pio, I8042_DATA_PORT, 1, i8042_data_io, &vm->i8042, "i8042");
	if (!r)
		r = bus_register(pio, I8042_CMD_PORT, 1, i8042_cmd_io, &vm->i8042, "i8042");
	if (!r)
		r = bus_register(pio, ACPI_PM_SLEEP_CTL_PORT, ACPI_PM_NPORTS, acpi_pm_io, &vm->pm,
				 "acpi-pm");
	if (!r)
		r = bus_register(pio, PORT_POST, 1, ignore_io, NULL, "post");
	if (!r)
		r = bus_register(pio, PORT_DELAY, 1, ignore_io, NULL, "io-delay");
	return r;
}

/* Writes the ACPI tables, the kernel, the initrd and the command line into guest RAM. */
static int load_guest(struct vm *vm, struct bw_error *err)
{
	struct acpi_platform p = {
	    .ncpus = vm->nvcpus,
	    .lapic_addr = KVM_LAPIC_ADDR,
	    .ioapic_addr = KVM_IOAPIC_ADDR,
	    .ioapic_id = (uint8_t)vm->nvcpus,
	    .sleep_ctl_port = ACPI_PM_SLEEP_CTL_PORT,
	    .sleep_sts_port = ACPI_PM_SLEEP_STS_PORT,
	    .serial_port = SERIAL_PORT_COM1,
	    .serial_irq = SERIAL_IRQ_COM1,
	    .power_button_gsi = VM_POWER_BUTTON_GSI,
	};
	uint8_t *acpi = gmem_ptr(&vm->mem, BOOT_ACPI_ADDR, BOOT_ACPI_SIZE);
	long n;
	int r;

	if (!acpi)
		return bw_errorf(err, BW_ERR_RUNTIME, "guest memory has no room for ACPI tables");
	vm_devices_describe(&vm->devs, &p);
	n = acpi_build(acpi, BOOT_ACPI_SIZE, BOOT_ACPI_ADDR, &p);
	if (n < 0)
		return bw_errorf(err, BW_ERR_RUNTIME, "cannot build the ACPI tables: %s",
				 strerror((int)-n));
	r = x86_boot_load(&vm->mem, &vm->files.plan, vm->files.kernel, vm->files.initrd,
			  vm->devs.cmdline, BOOT_ACPI_ADDR);
	if (r)
		return bw_errorf(err, BW_ERR_RUNTIME, "cannot load the guest: %s", strerror(-r));
	return 0;
}

/* Every host resource, opened while privileged and outside any jail (main.c's order). */
int vm_open(struct vm *vm, const struct vm_config *cfg, const struct policy_network *net,
	    struct bw_error *err)
{
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->kvm.dev_fd = vm->kvm.vm_fd = -1;
	vm->shutdown_fd = -1;
	vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->serial_drained_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_fd < 0 || vm->serial_drained_fd < 0)
		return bw_errorf(err, BW_ERR_RUNTIME, "eventfd: %s", strerror(errno));
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");

	/* Bad boot files are the config's fault: refuse them before touching KVM. */
	if (boot_files_open(cfg, &vm->files, err))
		return -1;
	/* So are missing images and taps: devices open before KVM too. */
	if (vm_devices_open(&vm->devs, cfg, net, vm->files.plan.cmdline_max, err))
		return -1;
	/* Here, unconfined: the console's private stdout and its timer need open and timerfd_*,
	 * which no confined thread may call. */
	r = console_out_open(&vm->console, STDOUT_FILENO);
	if (r)
		return bw_errorf(err, BW_ERR_RUNTIME, "cannot set up the console's output: %s",
				 strerror(-r));
	return 0;
}

int vm_open_kvm(struct vm *vm, struct bw_error *err)
{
	const struct vm_config *cfg = vm->cfg;
	/* The system fd only: the VM itself belongs to whichever process creates it. */
	int r = kvm_open(&vm->kvm, "/dev/kvm", err);

	if (r) {
		char modules[64], what[sizeof(err->msg)];

		/* What kvm_open() said, with the vendor modules loaded and the fix. */
		kvm_vendor_modules("/sys/module", modules, sizeof(modules));
		memcpy(what, err->msg, sizeof(what));
		return bw_errorf(err, BW_ERR_HOST, "%s%s%s%s; %s", what, *modules ? " (" : "",
				 modules, *modules ? " loaded)" : "", kvm_device_fix(modules, -r));
	}
	/* Before any vCPU of ours runs: a KVM that cannot run a guest (kvm_pvm runs only PVM
	 * kernels) would spin in KVM_RUN for ever. */
	if (kvm_probe_check(vm->kvm.dev_fd, err))
		return -1;
	if (cfg->vcpus > vm->kvm.max_vcpus) {
		config_errorf(err, cfg->path, cfg->loc_vcpus, "vcpus",
			      "expected at most %u (KVM's limit on this host), got %u",
			      vm->kvm.max_vcpus, cfg->vcpus);
		return -1;
	}
	return 0;
}

/* The VM itself, in the process (and jail) that runs it. KVM binds a VM to the mm of
 * the process that creates it, so nothing here may happen before the jail's fork. */
int vm_create(struct vm *vm, struct bw_error *err)
{
	const struct vm_config *cfg = vm->cfg;
	const char *why = "";
	int r = gmem_init(&vm->mem, cfg->memory);

	*err = (struct bw_error){.kind = BW_ERR_RUNTIME};
	if (r)
		return bw_errorf(err, BW_ERR_RUNTIME,
				 "cannot allocate %llu MiB of guest memory: %s",
				 (unsigned long long)(cfg->memory >> 20), strerror(-r));
	if (kvm_create_vm(&vm->kvm, &vm->mem, err))
		return -1;
	r = setup_devices(vm);
	if (r)
		return bw_errorf(err, BW_ERR_RUNTIME, "cannot register devices: %s", strerror(-r));
	if (vm_devices_attach(&vm->devs, &vm->kvm, &vm->mmio, &vm->mem, err))
		return -1;
	vm->vcpus = calloc(cfg->vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return bw_errorf(err, BW_ERR_RUNTIME, "out of memory");
	vm->nvcpus = cfg->vcpus;
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vm->vcpus[i].fd = -1;
	if (load_guest(vm, err))
		return -1;
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		r = vm_vcpu_create(vm, i, &why);
		if (r)
			return bw_errorf(err, BW_ERR_RUNTIME, "vcpu%u: %s: %s", i, why,
					 strerror(-r));
	}
	/* The kernel and initrd now live in guest RAM; their mappings would only add to our RSS. */
	boot_files_close(&vm->files);
	return 0;
}

/* Forwards terminal input to the UART, never more than its FIFO has room for. */
static void pump_console(struct vm *vm, struct console *con)
{
	uint8_t in[SERIAL_RX_FIFO], out[SERIAL_RX_FIFO];
	size_t room = serial_rx_space(&vm->serial);
	bool quit;
	ssize_t n;

	if (room == 0)
		return;
	n = read(con->in_fd, in, room);
	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN))
			con->interactive = false; /* the terminal went away; the guest runs on */
		return;
	}
	n = (ssize_t)console_filter(con, in, (size_t)n, out, &quit);
	serial_rx_push(&vm->serial, out, (size_t)n);
	if (quit)
		vm_request_stop(vm, VM_STOP_CONSOLE_QUIT);
}

/* The console's output side of the main loop: what the drain waits for, as a pollfd. */
static struct pollfd console_out_pollfd(const struct vm *vm, enum console_wait w)
{
	if (w == CONSOLE_WAIT_FD)
		return (struct pollfd){.fd = vm->console.fd, .events = POLLOUT};
	if (w == CONSOLE_WAIT_TICK)
		return (struct pollfd){.fd = vm->console.tick_fd, .events = POLLIN};
	return (struct pollfd){.fd = -1};
}

/* Reads an eventfd that poll reported readable; its count only says "something happened". */
static void take_event(int fd, const struct pollfd *p)
{
	uint64_t count;

	if (p->revents & POLLIN)
		(void)!read(fd, &count, sizeof(count));
}

/*
 * Test builds only (meson -Dtest_wedge=true): after its second WATCHDOG=1 the main loop stops
 * for good, in a poll with nothing to wait for (its allowlist has poll), as a wedged VMM would.
 * systemd's watchdog must then restart the unit (tests/integration/systemd-cases).
 */
static void wedge_for_tests(unsigned long pings)
{
#ifdef BULWARK_TEST_WEDGE
	if (pings >= 2) {
		log_warn("test build: the main loop wedges now, as -Dtest_wedge asks");
		for (;;)
			poll(NULL, 0, -1);
	}
#else
	(void)pings;
#endif
}

/*
 * The main thread's loop: wait for a stop request, a termination signal or console input, and
 * carry the guest's console output to stdout. Nothing here waits for stdout (console_out.c),
 * so a reader that stalls never keeps this loop from the signalfd.
 */
static void wait_for_stop(struct vm *vm, struct console *con, int sig_fd, int dog_fd)
{
	enum console_wait out = console_out_drain(&vm->console);
	unsigned long pings = 0;

	while (vm_stop_reason(vm) == VM_RUNNING) {
		struct pollfd p[7] = {
		    {.fd = vm->stop_fd, .events = POLLIN},
		    {.fd = sig_fd, .events = POLLIN},
		    {.fd = -1, .events = POLLIN},
		    {.fd = vm->console.wake_fd, .events = POLLIN},
		    console_out_pollfd(vm, out),
		    {.fd = dog_fd, .events = POLLIN},
		    {.fd = vm->shutdown_fd, .events = POLLIN},
		};

		if (con->interactive)
			p[2].fd = serial_rx_space(&vm->serial) ? con->in_fd : vm->serial_drained_fd;
		if (poll(p, 7, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", strerror(errno));
			vm_request_stop(vm, VM_STOP_ERROR);
			break;
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sig_fd, &si, sizeof(si)) == sizeof(si))
				vm_stop_on_signal(vm, (int)si.ssi_signo);
		}
		if (p[2].fd == vm->serial_drained_fd)
			take_event(vm->serial_drained_fd, &p[2]);
		else if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
			pump_console(vm, con);
		take_event(vm->console.wake_fd, &p[3]);
		if (p[4].fd == vm->console.fd && (p[4].revents & (POLLERR | POLLHUP | POLLNVAL)))
			console_out_hangup(&vm->console);
		out = console_out_drain(&vm->console);
		/* From this loop, so a wedged loop is what the watchdog sees. */
		if (p[5].revents & POLLIN) {
			take_event(dog_fd, &p[5]);
			notify_send("WATCHDOG=1");
			wedge_for_tests(++pings);
		}
		if (p[6].revents & POLLIN)
			vm_stop_on_timer(vm);
	}
}

/* A periodic timerfd for WATCHDOG=1 when systemd's watchdog is on, else -1. Armed here, before
 * the vmm thread is confined: from then on it only reads it. */
static int watchdog_timer(void)
{
	uint64_t us = notify_watchdog_every_usec();
	struct itimerspec every = {.it_interval = {.tv_sec = (time_t)(us / 1000000),
						   .tv_nsec = (long)(us % 1000000) * 1000}};
	int fd;

	if (!us)
		return -1;
	every.it_value = every.it_interval;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd >= 0 && timerfd_settime(fd, 0, &every, NULL)) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		log_warn("watchdog: cannot arm its timer (%s): systemd will restart this VM",
			 strerror(errno));
	return fd;
}

/* The fds a vCPU or the vmm thread may read or write, by role; each one's list says which roles
 * (policies/seccomp/vcpu.yaml, vmm.yaml). */
static void vm_fds(const struct vm *vm, int sig_fd, int dog_fd, struct sandbox_fds *fds)
{
	sandbox_fds_add(fds, SANDBOX_FD_SERVICE, notify_fd());
	sandbox_fds_add(fds, SANDBOX_FD_WATCHDOG, dog_fd);
	sandbox_fds_add(fds, SANDBOX_FD_SHUTDOWN, vm->shutdown_fd);
	sandbox_fds_add(fds, SANDBOX_FD_STOP, vm->stop_fd);
	sandbox_fds_add(fds, SANDBOX_FD_UART_DRAINED, vm->serial_drained_fd);
	sandbox_fds_add(fds, SANDBOX_FD_SIGNALFD, sig_fd);
	sandbox_fds_add(fds, SANDBOX_FD_CONSOLE, vm->console.fd);
	sandbox_fds_add(fds, SANDBOX_FD_CONSOLE_WAKE, vm->console.wake_fd);
	sandbox_fds_add(fds, SANDBOX_FD_CONSOLE_TICK, vm->console.tick_fd);
	vm_devices_fds(&vm->devs, fds);
}

/* Termination signals arrive on a signalfd; vCPU threads inherit the blocked mask, and unblock
 * only the kick signal. Returns the signalfd or -1. */
static int block_signals(void)
{
	sigset_t stop_signals;

	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGHUP);
	sigaddset(&stop_signals, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	sigdelset(&stop_signals, SIGUSR1);
	return signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
}

int vm_run(struct vm *vm, struct bw_error *err)
{
	struct sandbox_fds fds = {0};
	struct console con;
	char words[128];
	int sig_fd = block_signals(), dog_fd = watchdog_timer(), r;

	if (sig_fd < 0 || vcpu_init_signals() || vm_stop_open(vm))
		return bw_errorf(err, BW_ERR_RUNTIME, "cannot set up signal handling: %s",
				 strerror(errno));
	if (console_init(&con, STDIN_FILENO))
		log_warn("cannot put the terminal in raw mode; console input is off");
	if (con.interactive)
		log_info("console attached; Ctrl-A x quits");

	/* Device threads first: a vCPU's first notification must find someone to serve it. */
	if (vm_devices_start(&vm->devs))
		vm_request_stop(vm, VM_STOP_ERROR);
	vm_fds(vm, sig_fd, dog_fd, &fds);
	vm_vcpus_start(vm, &fds);
	/* Confined only now: every thread is running, so the vmm thread's filter can no longer be
	 * inherited; from here it waits, tears down and holds no capabilities. */
	r = sandbox_confine_thread(SANDBOX_VMM, &fds);
	if (r) {
		log_err("cannot confine the vmm thread: %s", strerror(-r));
		vm_request_stop(vm, VM_STOP_ERROR);
	}
	/* Ready: jailed, every thread confined, the vCPUs running. */
	if (vm_stop_reason(vm) == VM_RUNNING)
		notify_send("READY=1\nSTATUS=running, %u vCPU%s", vm->nvcpus,
			    vm->nvcpus == 1 ? "" : "s");
	wait_for_stop(vm, &con, sig_fd, dog_fd);
	vm_stop_words(vm, words, sizeof(words));
	notify_send("STOPPING=1\nSTATUS=stopping: %s", words);
	vm_vcpus_stop(vm);
	vm_devices_stop(&vm->devs);
	/* The vCPUs are gone: what the guest wrote last goes out now if stdout takes it. */
	console_out_finish(&vm->console);
	console_restore();
	close(sig_fd);
	if (dog_fd >= 0)
		close(dog_fd);
	/* Termination signals stay blocked: a second SIGTERM (a supervisor signalling the whole
	 * process group, say) must not kill bulwark while it tears down. */
	return vm_stop_report(vm);
}

void vm_destroy(struct vm *vm)
{
	for (unsigned i = 0; vm->vcpus && i < vm->nvcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
	/* Devices before RAM: their threads (stopped here if vm_run did not) point into it. */
	vm_devices_destroy(&vm->devs);
	kvm_close(&vm->kvm);
	gmem_free(&vm->mem);
	boot_files_close(&vm->files);
	serial_destroy(&vm->serial);
	console_out_close(&vm->console);
	vm_stop_close(vm);
	if (vm->stop_fd >= 0)
		close(vm->stop_fd);
	if (vm->serial_drained_fd >= 0)
		close(vm->serial_drained_fd);
	vm->stop_fd = vm->serial_drained_fd = -1;
}
