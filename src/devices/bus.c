/* src/devices/bus.c: placeholder */
