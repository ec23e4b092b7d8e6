/* src/kvm/x86_boot.c: placeholder */
