/* src/kvm/vcpu.c: placeholder */
