/* src/kvm/cpuid.c: placeholder */
