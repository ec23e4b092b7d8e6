/* src/kvm/kvm.c: placeholder */
