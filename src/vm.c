/* src/vm.c: placeholder */
