/* src/kvm/aml.c: placeholder */
