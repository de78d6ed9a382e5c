/* The terminal's size (TIOCGWINSZ: ioctl is variadic, which Swift does not import). */
#ifndef SWOFFCPU_TERMINAL_H
#define SWOFFCPU_TERMINAL_H

/* Rows and columns of the terminal on `fd`: 0, or -1 when it is not a terminal. */
int swoffcpu_terminal_size(int fd, int *rows, int *cols);

#endif
