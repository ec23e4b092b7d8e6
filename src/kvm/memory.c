/* memory.c: guest RAM allocation and the checked guest-physical accessor. */
#include "kvm/memory.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

int gmem_init(struct guest_mem *m, uint64_t size)
{
	void *p;

	if (size == 0 || size % 4096 != 0)
		return -EINVAL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	/* Guest RAM never belongs in a core dump: it is the guest's data, not ours. */
	(void)madvise(p, size, MADV_DONTDUMP);
	m->host = p;
	m->size = size;
	m->low_size = size < GMEM_HOLE_START ? size : GMEM_HOLE_START;
	return 0;
}

void gmem_free(struct guest_mem *m)
{
	if (m->host)
		munmap(m->host, m->size);
	m->host = NULL;
	m->size = m->low_size = 0;
}

void *gmem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	uint64_t high_size;

	if (len == 0 || !m->host)
		return NULL;
	/* Written as "len <= limit - gpa" so no sum can wrap. */
	if (gpa < m->low_size) {
		if (len > m->low_size - gpa)
			return NULL;
		return m->host + gpa;
	}
	high_size = m->size - m->low_size;
	if (gpa < GMEM_HIGH_START || gpa - GMEM_HIGH_START >= high_size)
		return NULL;
	if (len > high_size - (gpa - GMEM_HIGH_START))
		return NULL;
	return m->host + m->low_size + (gpa - GMEM_HIGH_START);
}

int gmem_read(const struct guest_mem *m, uint64_t gpa, void *dst, size_t len)
{
	const void *p = gmem_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int gmem_write(const struct guest_mem *m, uint64_t gpa, const void *src, size_t len)
{
	void *p = gmem_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}
