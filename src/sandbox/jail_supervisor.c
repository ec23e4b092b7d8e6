/* jail_supervisor.c: the process that stays outside the jail: waits, forwards, reports, cleans up.
 */
#include "sandbox/jail_supervisor.h"
#include "util/bytes.h"

#include "sandbox/seccomp.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP};

void supervisor_signals(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(set, forwarded[i]);
	sigaddset(set, SIGCHLD);
}

int supervisor_verdict(pid_t child, int status, long long oom_kills, const char *memory_max)
{
	int sig;

	if (WIFEXITED(status)) {
		log_msg(WEXITSTATUS(status) ? LOG_ERROR : LOG_INFO,
			"supervisor: the VMM (pid %d) exited with status %d", (int)child,
			WEXITSTATUS(status));
		return WEXITSTATUS(status);
	}
	sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	if (sig == SIGKILL && oom_kills > 0)
		log_err("supervisor: the VMM (pid %d) was killed by the OOM killer: its cgroup "
			"reached memory.max (%s), or a limit above it did (a unit's MemoryMax=)",
			(int)child, memory_max);
	else if (sig == SIGSYS)
		log_err("supervisor: the VMM (pid %d) was killed by SIGSYS: a syscall outside its "
			"seccomp allowlist",
			(int)child);
	else
		log_err("supervisor: the VMM (pid %d) was killed by SIG%s", (int)child,
			log_signal_name(sig));
	return EXIT_RUNTIME;
}

/* SIG to the VMM through its pidfd: the one process the supervisor's filter lets it signal, and
 * never another that might get its pid once it is reaped. */
static void signal_vmm(int pidfd, int sig)
{
	syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0U);
}

/*
 * The one part of bulwark left outside the jail confines itself too: from here it only waits,
 * forwards signals to the VMM's pidfd alone (keeping CAP_KILL alone), reads memory.events,
 * removes the cgroup and logs (policies/seccomp/supervisor.yaml). Failing that, the VM does not
 * run. Returns the pidfd, or -1 when the VMM is killed already.
 */
static int confine_supervisor(pid_t child)
{
	struct sandbox_fds fds = {0};
	/* Not reaped yet, so the pid is still the VMM's. */
	int pidfd = (int)syscall(SYS_pidfd_open, child, 0U);

	if (pidfd < 0) {
		log_err("supervisor: pidfd_open: %s; stopping the VMM (pid %d)", strerror(errno),
			(int)child);
		kill(child, SIGKILL);
		return -1;
	}
	sandbox_fds_add(&fds, SANDBOX_FD_PIDFD, pidfd);
	if (sandbox_confine_thread(SANDBOX_SUPERVISOR, &fds)) {
		log_err("supervisor: cannot confine itself; stopping the VMM (pid %d)", (int)child);
		signal_vmm(pidfd, SIGKILL);
	}
	return pidfd;
}

int supervise(pid_t child, struct cgroup *cg, const struct policy_cgroup *pc,
	      const sigset_t *signals)
{
	char memory_max[24] = "not set";
	int status = 0, verdict;
	long long oom = -1;
	int pidfd = confine_supervisor(child);

	log_info("supervisor: waiting for the VMM (pid %d)", (int)child);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(signals, &si);

		if (sig < 0) {
			if (errno == EINTR)
				continue;
			log_err("supervisor: sigwaitinfo: %s; killing the VMM", strerror(errno));
			signal_vmm(pidfd, SIGKILL);
			waitpid(child, &status, 0);
			break;
		}
		if (sig != SIGCHLD) {
			log_info("supervisor: forwarding SIG%s to the VMM", log_signal_name(sig));
			signal_vmm(pidfd, sig);
			continue;
		}
		pid_t w = waitpid(child, &status, WNOHANG);

		if (w == child)
			break;
		if (w < 0 && errno != EINTR) {
			log_err("supervisor: waitpid: %s", strerror(errno));
			status = EXIT_RUNTIME << 8; /* as if the VMM had exited with it */
			break;
		}
	}
	if (cg->path[0])
		oom = cgroup_oom_kills(cg);
	if (pc->memory_max_set)
		cgroup_format(pc->memory_max, memory_max, sizeof(memory_max));
	verdict = supervisor_verdict(child, status, oom, memory_max);
	if (cgroup_remove(cg) && verdict == 0)
		verdict = EXIT_RUNTIME;
	if (pidfd >= 0)
		close(pidfd);
	return verdict;
}
