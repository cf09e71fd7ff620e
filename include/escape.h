/* escape: HTML, JSON and Apache log escaping into caller buffers. */
#ifndef GEO307_ESCAPE_H
#define GEO307_ESCAPE_H

#include <stddef.h>

/*
 * Escape & < > " ' for HTML text and attribute values.  Writes at most
 * dstsz bytes including the NUL; returns the length the full result needs
 * (like snprintf), so a result >= dstsz means truncation.
 */
size_t	escape_html(char *dst, size_t dstsz, const char *src, size_t srclen);

/*
 * Escape a byte string as the inside of a JSON string (no quotes added):
 * " \ and control bytes; bytes >= 0x80 are written as \u00XX so the output
 * is always valid JSON.  Same return convention as escape_html.
 */
size_t	escape_json(char *dst, size_t dstsz, const char *src, size_t srclen);

/*
 * Escape a byte string for a quoted field of an Apache log line, as
 * Apache's ap_escape_logitem does: " and \ get a backslash, bytes below
 * 0x20 and from 0x7f up become \xHH.  Same return convention.
 */
size_t	escape_log(char *dst, size_t dstsz, const char *src, size_t srclen);

/*
 * A value as it goes into a message: escape_log of at most max bytes of
 * s (NULL reads as ""), "..." after when cut (by max or by sz), always
 * NUL-terminated in sz bytes; sz = max * 4 + 4 holds any s.  Returns buf.
 */
const char *escape_log_cut(char *buf, size_t sz, const char *s, size_t max);

#endif
