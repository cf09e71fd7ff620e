/* Shared helpers for the libFuzzer harnesses (see README). */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy (the input may hold NULs: they end the string). */
static inline char *
fuzz_str(const uint8_t *data, size_t size)
{
	char	*s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Write data to a private temp file; returns its path (static buffer). */
static inline const char *
fuzz_file(const uint8_t *data, size_t size)
{
	static char	path[64];
	FILE		*f;

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/g307-fuzz-%d", (int)getpid());
	if ((f = fopen(path, "wb")) == NULL)
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	return path;
}
#endif
