/* src/console.c: placeholder */
