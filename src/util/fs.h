/* Small file-system helpers. */
#ifndef CWP_UTIL_FS_H
#define CWP_UTIL_FS_H

/* mkdir -p with mode 0700 (private to the proxy's user). Returns 0 or a negative errno
 * (-ENAMETOOLONG for an empty path or one over 4095 bytes). */
int fs_mkdir_p(const char *path);

#endif
