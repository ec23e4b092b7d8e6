/* thread.c: spawns threads that confine themselves first and report the outcome to their creator.
 */
#include "sandbox/thread.h"

#include <errno.h>
#include <semaphore.h>

struct spawn {
	const struct sandbox_filter *filter;
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
	int r = sandbox_confine_filter(s->filter);

	/* S lives on the creator's stack: after sem_post it may be gone. */
	s->result = r;
	sem_post(&s->done);
	return r ? NULL : fn(arg);
}

int sandbox_thread_spawn(pthread_t *t, enum sandbox_kind kind, const struct sandbox_fds *fds,
			 void *(*fn)(void *), void *arg)
{
	struct sandbox_filter filter;
	struct spawn s = {.filter = &filter, .fn = fn, .arg = arg};
	/* Built here, so the new thread only loads it: nothing of the thread's own touches the
	 * heap before its filter holds (a thread's first malloc may give it an arena of its own).
	 */
	int r = sandbox_filter_build(&filter, kind, fds);

	if (r)
		return r;
	if (sem_init(&s.done, 0, 0)) {
		sandbox_filter_free(&filter);
		return -errno;
	}
	r = pthread_create(t, NULL, confined_start, &s);
	if (r) {
		sem_destroy(&s.done);
		sandbox_filter_free(&filter);
		return -r;
	}
	while (sem_wait(&s.done) && errno == EINTR)
		;
	sem_destroy(&s.done);
	sandbox_filter_free(&filter); /* the kernel keeps its own copy */
	if (s.result) {
		pthread_join(*t, NULL);
		return s.result;
	}
	return 0;
}
