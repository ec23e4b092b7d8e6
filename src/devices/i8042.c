/* src/devices/i8042.c: placeholder */
