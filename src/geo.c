/*
 * GeoIP lookups with libmaxminddb.  One MMDB_s per loaded file, mmap'd and
 * shared by every thread (libmaxminddb lookups are read-only).  Replacing
 * the file is the runtime's job: it publishes a new geodb and closes the
 * old one only after epoch_wait(), because unmapping a file a reader is
 * still walking crashes (LIBRARY-NOTES).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <maxminddb.h>

#include "countries.h"
#include "geo.h"

struct geodb {
	MMDB_s	 mmdb;
	char	*path;
	int	 ipv4_only;
};

static int
verify_record(const MMDB_s *mmdb, uint64_t rec, uint8_t *seen_data)
{
	MMDB_entry_data_list_s	*list = NULL;
	MMDB_entry_s		 entry;
	uint64_t		 off;
	int			 rc;

	off = rec - mmdb->metadata.node_count - 16;
	if (rec < mmdb->metadata.node_count + 16 ||
	    off >= mmdb->data_section_size)
		return MMDB_CORRUPT_SEARCH_TREE_ERROR;
	if (seen_data[off / 8] & (1u << (off % 8)))
		return MMDB_SUCCESS;
	seen_data[off / 8] |= 1u << (off % 8);
	entry.mmdb = mmdb;
	entry.offset = (uint32_t)off;
	rc = MMDB_get_entry_data_list(&entry, &list);
	MMDB_free_entry_data_list(list);
	return rc;
}

static int
verify_tree(const MMDB_s *mmdb)
{
	MMDB_search_node_s	 node;
	uint32_t		 nodes = mmdb->metadata.node_count;
	uint32_t		*stack = NULL;
	uint8_t			*seen_node = NULL, *seen_data = NULL;
	size_t			 sp = 0, cap;
	uint64_t		 rec[2];
	int			 rc = MMDB_SUCCESS, i;

	if (nodes == 0)
		return MMDB_INVALID_METADATA_ERROR;
	cap = (size_t)nodes + 1;
	if ((stack = malloc(cap * sizeof(*stack))) == NULL ||
	    (seen_node = calloc(nodes / 8 + 1, 1)) == NULL ||
	    (seen_data = calloc(mmdb->data_section_size / 8 + 1, 1)) == NULL) {
		rc = MMDB_OUT_OF_MEMORY_ERROR;
		goto out;
	}
	stack[sp++] = 0;
	seen_node[0] |= 1;
	while (sp > 0 && rc == MMDB_SUCCESS) {
		if ((rc = MMDB_read_node(mmdb, stack[--sp], &node)) !=
		    MMDB_SUCCESS)
			break;
		rec[0] = node.left_record;
		rec[1] = node.right_record;
		for (i = 0; i < 2 && rc == MMDB_SUCCESS; i++) {
			if (rec[i] < nodes) {
				/* IPv4 aliases make this a DAG: visit once. */
				if (seen_node[rec[i] / 8] & (1u << (rec[i] % 8)))
					continue;
				seen_node[rec[i] / 8] |= 1u << (rec[i] % 8);
				stack[sp++] = (uint32_t)rec[i];
			} else if (rec[i] > nodes)
				rc = verify_record(mmdb, rec[i], seen_data);
		}
	}
out:
	free(stack);
	free(seen_node);
	free(seen_data);
	return rc;
}

struct geodb *
geodb_open(const char *path, char *err, size_t errlen)
{
	struct geodb	*db;
	int		 rc;

	if ((db = calloc(1, sizeof(*db))) == NULL ||
	    (db->path = strdup(path)) == NULL) {
		free(db);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	rc = MMDB_open(path, MMDB_MODE_MMAP, &db->mmdb);
	if (rc != MMDB_SUCCESS) {
		if (rc == MMDB_IO_ERROR)
			snprintf(err, errlen, "%s: %s", path,
			    errno ? strerror(errno) : MMDB_strerror(rc));
		else
			snprintf(err, errlen, "%s: not a valid MaxMind DB: %s",
			    path, MMDB_strerror(rc));
		free(db->path);
		free(db);
		return NULL;
	}
	db->ipv4_only = db->mmdb.metadata.ip_version == 4;
	/*
	 * MMDB_open checks the metadata only.  Walk the search tree and
	 * decode every data record once, so that a file with a broken tree
	 * or data section is refused here, at load or reload, rather than
	 * answering garbage for some addresses later.
	 */
	if ((rc = verify_tree(&db->mmdb)) != MMDB_SUCCESS) {
		snprintf(err, errlen, "%s: corrupt MaxMind DB: %s", path,
		    MMDB_strerror(rc));
		geodb_close(db);
		return NULL;
	}
	return db;
}

void
geodb_close(struct geodb *db)
{
	if (db == NULL)
		return;
	MMDB_close(&db->mmdb);
	free(db->path);
	free(db);
}

static int
get_string(MMDB_lookup_result_s *res, char *dst, size_t dstsz,
    const char *k1, const char *k2)
{
	MMDB_entry_data_s	 d;
	int			 rc;

	rc = MMDB_get_value(&res->entry, &d, k1, k2, NULL);
	if (rc != MMDB_SUCCESS || !d.has_data ||
	    d.type != MMDB_DATA_TYPE_UTF8_STRING || d.data_size >= dstsz)
		return -1;
	/* Strings in MMDB results are not NUL-terminated. */
	memcpy(dst, d.utf8_string, d.data_size);
	dst[d.data_size] = '\0';
	return 0;
}

static int
get_double(MMDB_lookup_result_s *res, double *out, const char *k1,
    const char *k2)
{
	MMDB_entry_data_s	 d;

	if (MMDB_get_value(&res->entry, &d, k1, k2, NULL) != MMDB_SUCCESS ||
	    !d.has_data)
		return -1;
	switch (d.type) {
	case MMDB_DATA_TYPE_DOUBLE:
		*out = d.double_value;
		return 0;
	case MMDB_DATA_TYPE_FLOAT:
		*out = d.float_value;
		return 0;
	default:
		return -1;
	}
}

static int
is_upper2(const char *s)
{
	return s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' &&
	    s[2] == '\0';
}

void
geodb_lookup(const struct geodb *db, const struct netaddr *a,
    struct geo_result *out)
{
	const struct country_info	*ci;
	MMDB_lookup_result_s		 res;
	struct sockaddr_storage		 ss;
	int				 mmdb_error = MMDB_SUCCESS;
	double				 lat, lon;

	memset(out, 0, sizeof(*out));
	if (db == NULL)
		return;
	/* An IPv4-only database cannot answer for an IPv6 address. */
	if (db->ipv4_only && a->family != AF_INET)
		return;
	netaddr_to_sockaddr(a, &ss);
	res = MMDB_lookup_sockaddr(&db->mmdb,
	    (const struct sockaddr *)&ss, &mmdb_error);
	if (mmdb_error != MMDB_SUCCESS || !res.found_entry)
		return;
	out->found = 1;
	if (get_string(&res, out->country, sizeof(out->country), "country",
	    "iso_code") != 0 || !is_upper2(out->country))
		out->country[0] = '\0';
	if (get_string(&res, out->continent, sizeof(out->continent),
	    "continent", "code") != 0 || !continent_is_valid(out->continent))
		out->continent[0] = '\0';
	ci = out->country[0] ? country_find(out->country) : NULL;
	if (out->continent[0] == '\0' && ci != NULL)
		memcpy(out->continent, ci->continent, 3);
	if (get_double(&res, &lat, "location", "latitude") == 0 &&
	    get_double(&res, &lon, "location", "longitude") == 0 &&
	    lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180) {
		out->has_location = 1;
		out->location_from_db = 1;
		out->lat = lat;
		out->lon = lon;
	} else if (ci != NULL) {
		out->has_location = 1;
		out->lat = ci->lat;
		out->lon = ci->lon;
	}
}

uint64_t
geodb_build_epoch(const struct geodb *db)
{
	return db->mmdb.metadata.build_epoch;
}

const char *
geodb_type(const struct geodb *db)
{
	return db->mmdb.metadata.database_type;
}

const char *
geodb_path(const struct geodb *db)
{
	return db->path;
}
