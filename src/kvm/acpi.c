/* src/kvm/acpi.c: placeholder */
