/* thread.c: spawns threads that confine themselves first and report the outcome to their creator.
 */
#include "sandbox/thread.h"

#include <errno.h>
#include <semaphore.h>

struct spawn {
	enum sandbox_kind kind;
	void *(*fn)(void *);
	void *arg;
	int result; /* the confinement's, read by the creator after done */
	sem_t done;
};

static void *confined_start(void *p)
{
	struct spawn *s = p;
	void *(*fn)(void *) = s->fn;
	void *arg = s->arg;
	int r = sandbox_confine_thread(s->kind);

	/* S lives on the creator's stack: after sem_post it may be gone. */
	s->result = r;
	sem_post(&s->done);
	return r ? NULL : fn(arg);
}

int sandbox_thread_spawn(pthread_t *t, enum sandbox_kind kind, void *(*fn)(void *), void *arg)
{
	struct spawn s = {.kind = kind, .fn = fn, .arg = arg};
	int r;

	if (sem_init(&s.done, 0, 0))
		return -errno;
	r = pthread_create(t, NULL, confined_start, &s);
	if (r) {
		sem_destroy(&s.done);
		return -r;
	}
	while (sem_wait(&s.done) && errno == EINTR)
		;
	sem_destroy(&s.done);
	if (s.result) {
		pthread_join(*t, NULL);
		return s.result;
	}
	return 0;
}
