/*
 * config: the INI file, read strictly by the project's own lexer and one
 * key table (src/config_keys.c).  Every error names file:line.  A loaded
 * config is immutable: a reload builds a new one over the running one
 * (config_load_over) and swaps it in (see runtime.h).
 */
#ifndef GEO307_CONFIG_H
#define GEO307_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "netaddr.h"
#include "parse.h"
#include "strlist.h"

#define NAME_MAX_LEN	PARSE_NAME_MAX
/*
 * [region] sections at most.  The region map keeps, for every region,
 * all the others by distance (n * n entries, sorted at load), so
 * without a bound a config of a few tens of thousands of one-line
 * regions (well under the 1 MiB file limit) took minutes and gigabytes
 * to load.  Far more than the countries there are to route by.
 */
#define REGIONS_MAX	1024
#define LISTEN_MAX	8	/* [listen] address: http.c serves this many */

struct listen_addr {
	struct sockaddr_storage	sa;
	socklen_t		salen;
	char			text[80];	/* as written, for logs */
};

/* [redirect] allowed_hosts: exact names, *.suffix, or CIDRs. */
struct host_patterns {
	struct strlist		names;		/* exact, lower-case */
	struct strlist		suffixes;	/* ".example.com" for *.example.com */
	struct cidr_list	cidrs;
};

enum trust_header_kind {
	TRUST_XFF,		/* x-forwarded-for style: a comma list */
	TRUST_FORWARDED,	/* RFC 7239 Forwarded: for= elements */
	TRUST_SINGLE		/* x-real-ip style: one address */
};

struct region_conf {
	char		 name[NAME_MAX_LEN + 1];
	int		 has_location;
	double		 lat, lon;
	struct strlist	 countries;	/* ISO 3166 alpha-2, upper-case */
	struct strlist	 continents;	/* AF AN AS EU NA OC SA */
	struct strlist	 fallback;	/* region names, ordered */
	int		 is_default;
	int		 line;		/* of the [region] header */
};

struct server_conf {
	char		 id[NAME_MAX_LEN + 1];
	char		*url;
	char		 region[NAME_MAX_LEN + 1];
	uint32_t	 weight;	/* 0..1000000, default 100 */
	char		*families;	/* "4", "6" or "4 6" */
	int		 line;
};

struct config {
	char			*path;
	char			*text;		/* the file as it was read */
	size_t			 textlen;

	struct {
		struct listen_addr	 addrs[LISTEN_MAX];
		size_t			 naddrs;
		struct strlist		 public_names;
		unsigned		 threads;	/* 0 = one per core */
		unsigned		 max_connections;
		unsigned		 per_ip_connections;
		double			 header_timeout;
		double			 keepalive_timeout;
		size_t			 max_header_bytes;
		char			*health_path;	/* NULL = off */
		double			 shutdown_delay;
		double			 shutdown_grace;
		char			*tls_cert;	/* NULL = plain HTTP */
		char			*tls_key;
		int			 proxy_protocol;
	} listen;

	struct {
		char	*pid_file;	/* NULL = none */
	} service;

	struct {
		uint64_t	max_bytes;
		double		idle;
		double		max_time;
		unsigned	max_connections;
		unsigned	per_ip;
	} linger;

	struct {
		int			enabled;
		struct listen_addr	addr;
		struct cidr_list	allow;
	} admin;

	struct {
		char	*database;
	} geoip;

	struct {
		char		*url;		/* NULL = no Redis (static fleet) */
		struct strlist	 sentinels;
		char		*master;
		char		*prefix;
		double		 refresh;
		double		 full_resync;
		double		 stale_after;
		char		*cache_file;
		double		 cache_max_age;
	} redis;

	struct {
		int			status;		/* 307 or 308 */
		double			retry_after;
		struct host_patterns	allowed_hosts;
		int			has_allowed_hosts;
		int			allow_http;
		char			*sign_keys;	/* kid:base64 list */
		double			 sign_ttl;
	} redirect;

	struct {
		double		spill_below;
		double		slow_start;
		int		has_seed;
		uint64_t	seed;
	} selection;

	struct {
		struct cidr_list	 proxies;
		char			*header;	/* lower-case name */
		enum trust_header_kind	 kind;
	} trust;

	struct {
		struct strlist	tokens;
	} synthetic;

	struct {
		char	*prefix;	/* NULL = off */
	} lookup;

	struct {
		struct strlist	allow_origins;	/* empty = CORS off */
		char		*allow_methods;	/* joined ", " for the header */
		char		*allow_headers;
		unsigned	 max_age;
	} cors;

	struct {				/* (later) accepted, not used yet */
		char		*header;
		char		*mode;
		int		 path_segment;
	} affinity;

	struct {
		char	*access;	/* "stdout", a path, or NULL = off */
		int	 format_json;	/* 1 json, 0 combined */
		int	 log_query;
		int	 log_health;	/* health_path requests logged */
	} log;

	struct {
		int	per_server;
	} metrics;

	struct region_conf	*regions;
	size_t			 nregions;
	size_t			 default_region;	/* index into regions */
	struct server_conf	*servers;
	size_t			 nservers;

	/*
	 * Set by config_load_over(): what differs from the running config
	 * ("[cors] max_age changed", "[server x] added", "[region eu]
	 * countries changed"), and the keys read only at start that differ
	 * ("[listen] max_header_bytes"): those keep the running value.
	 */
	struct strlist		 changed;
	struct strlist		 restart;
};

/*
 * Parse and validate path.  On error returns NULL and writes
 * "file:line: what is wrong" (or "file: ..." for whole-file problems)
 * into err.
 */
struct config	*config_load(const char *path, char *err, size_t errlen);
/*
 * The same, for a reload over old (the running config, or NULL): keys
 * whose reload rule says restart keep old's value, and changed and
 * restart list what differs.
 */
struct config	*config_load_over(const char *path, const struct config *old,
		    char *err, size_t errlen);
/* The same from the text a config was read from (cfg->text). */
struct config	*config_load_text(const char *path, const char *text,
		    size_t len, const struct config *old, char *err,
		    size_t errlen);
void		 config_free(struct config *cfg);

/* Every key: section, key, type, default, reload rule, help; TAB-separated. */
void		 config_print_keys(FILE *f);

/* Index of the region called name, or -1. */
int		 config_region_index(const struct config *cfg, const char *name);

#endif
