/* src/devices/acpi_pm.c: placeholder */
