/* src/devices/serial.c: placeholder */
