/* seccomp-check.c: run by the build: compiles every embedded allowlist and prints them, or fails.
 */
#include "sandbox/seccomp.h"

int main(void)
{
	return seccomp_print_allowlists(stdout) ? 1 : 0;
}
