/* virtio_mmio_thread.c: a virtio device's thread: waits for notifications, serves them. */
#include "devices/virtio_mmio.h"

#include "sandbox/thread.h"
#include "util/log.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

bool virtio_mmio_serve(struct virtio_mmio *t, int timeout_ms)
{
	const struct virtio_dev_ops *ops = t->ops;
	struct pollfd p[2 + VIRTIO_MMIO_QUEUES_MAX];
	unsigned nq = ops->nqueues, n = 1 + nq, todo = 0;
	bool woken;

	if (__atomic_load_n(&t->stopping, __ATOMIC_ACQUIRE))
		return false;
	p[0] = (struct pollfd){.fd = t->ctl_fd, .events = POLLIN};
	for (unsigned q = 0; q < nq; q++)
		p[1 + q] = (struct pollfd){.fd = t->notify_fd[q], .events = POLLIN};
	p[n] = (struct pollfd){.fd = -1};
	pthread_mutex_lock(&t->lock);
	if (ops->wait_fd && virtio_mmio_live(t))
		p[n].fd = ops->wait_fd(t->dev, &p[n].events);
	pthread_mutex_unlock(&t->lock);
	if (poll(p, n + 1, timeout_ms) < 0) {
		if (errno == EINTR)
			return !__atomic_load_n(&t->stopping, __ATOMIC_ACQUIRE);
		/* Cannot wait, so cannot serve without spinning: end the thread, loudly. */
		log_err("%s: poll: %s; the device stops", t->name, strerror(errno));
		return false;
	}
	if (__atomic_load_n(&t->stopping, __ATOMIC_ACQUIRE))
		return false;
	if (p[0].revents)
		eventfd_read(t->ctl_fd, &(eventfd_t){0});
	for (unsigned q = 0; q < nq; q++) {
		if (p[1 + q].revents) {
			eventfd_read(t->notify_fd[q], &(eventfd_t){0});
			todo |= 1U << q;
		}
	}
	woken = __atomic_exchange_n(&t->woken, false, __ATOMIC_SEQ_CST);
#ifdef BULWARK_TEST_FORBIDDEN_SYSCALL
	/* Test builds only (meson -Dtest_forbidden_syscall=true): entropy's first request makes a
	 * syscall no device may make, which must kill the VM and name the thread and the call. */
	if (todo && ops->kind == SANDBOX_VIRTIO_RNG)
		syscall(SYS_getppid);
#endif
	if (woken)
		todo = (1U << nq) - 1;

	pthread_mutex_lock(&t->lock);
	for (unsigned q = 0; q < nq; q++) {
		/* Liveness again each time: a notify may have ended in NEEDS_RESET. */
		if ((todo & (1U << q)) && virtio_mmio_live(t) && t->vq[q].live)
			ops->notify(t->dev, t, q);
	}
	if (p[n].fd >= 0 && p[n].revents && ops->fd_ready && virtio_mmio_live(t))
		ops->fd_ready(t->dev, t, p[n].revents);
	pthread_mutex_unlock(&t->lock);
	return true;
}

/* The device thread; sandbox_thread_spawn has confined it (its device's seccomp kind) first. */
static void *device_thread(void *arg)
{
	struct virtio_mmio *t = arg;

	while (virtio_mmio_serve(t, -1))
		;
	return NULL;
}

bool virtio_mmio_requeue(struct virtio_mmio *t, unsigned q)
{
	/* The queue's own notify eventfd, as a guest notification would: one poll wakes for both,
	 * and the device thread's allowlist already writes there. */
	return q < t->ops->nqueues && eventfd_write(t->notify_fd[q], 1) == 0;
}

void virtio_mmio_fds(const struct virtio_mmio *t, struct sandbox_fds *fds)
{
	sandbox_fds_add(fds, SANDBOX_FD_WAKE, t->ctl_fd);
	sandbox_fds_add(fds, SANDBOX_FD_IRQ, t->irq_fd);
	for (unsigned q = 0; q < t->ops->nqueues; q++)
		sandbox_fds_add(fds, SANDBOX_FD_NOTIFY, t->notify_fd[q]);
	if (t->ops->sandbox_fds)
		t->ops->sandbox_fds(t->dev, fds);
}

int virtio_mmio_start(struct virtio_mmio *t)
{
	struct sandbox_fds fds = {0};
	sigset_t all, old;
	int r;

	if (t->thread_started)
		return -EBUSY;
	/* Born with every signal blocked, so SIGTERM and friends reach the main thread's
	 * signalfd and never interrupt a device mid-request. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	virtio_mmio_fds(t, &fds);
	r = sandbox_thread_spawn(&t->thread, t->ops->kind, &fds, device_thread, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		return r;
	t->thread_started = true;
	pthread_setname_np(t->thread, t->name); /* "blk0" in top -H; cosmetic if it fails */
	return 0;
}

void virtio_mmio_stop(struct virtio_mmio *t)
{
	if (!t->thread_started)
		return;
	__atomic_store_n(&t->stopping, true, __ATOMIC_RELEASE);
	eventfd_write(t->ctl_fd, 1);
	pthread_join(t->thread, NULL);
	t->thread_started = false;
}
