/* src/config.c: placeholder */
