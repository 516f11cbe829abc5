/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Files the operator names (the configuration, suppression and pool-name
 * lists) are read only if they are regular files: a FIFO with no writer
 * would block start-up for ever, and a device could feed endless bytes.
 */
#ifndef MW_FILE_H
#define MW_FILE_H

#include <stdio.h>

/*
 * Opens path for reading (close-on-exec). NULL with errno set on failure;
 * errno is EINVAL when path is there but is not a regular file.
 */
FILE *file__open_regular(const char *path);

/* The reason to print for an errno from file__open_regular(). */
const char *file__strerror(int e);

#endif /* MW_FILE_H */
