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

#define H_UNKNOWN	0
#define H_ACTIVE	255

struct verify {
	const MMDB_s	*mmdb;
	uint8_t		*height;	/* per node: 1 + subtree height */
	uint8_t		*seen_data;
	int		 bits;		/* 32 or 128 */
	int		 rc;
	uint32_t	 reached;	/* distinct nodes reached */
	uint32_t	 records;	/* distinct data records */
	uint32_t	 countries;	/* ... of which carry a country */
};

/* A record routes by country when it has a two-letter country.iso_code. */
static int
has_country(MMDB_entry_s *entry)
{
	MMDB_entry_data_s	d;

	return MMDB_get_value(entry, &d, "country", "iso_code", NULL) ==
	    MMDB_SUCCESS && d.has_data &&
	    d.type == MMDB_DATA_TYPE_UTF8_STRING && d.data_size == 2;
}

static int
verify_record(struct verify *v, uint64_t rec)
{
	const MMDB_s		*mmdb = v->mmdb;
	MMDB_entry_data_list_s	*list = NULL;
	MMDB_entry_s		 entry;
	uint64_t		 off;
	int			 rc;

	off = rec - mmdb->metadata.node_count - 16;
	if (rec < mmdb->metadata.node_count + 16 ||
	    off >= mmdb->data_section_size)
		return MMDB_CORRUPT_SEARCH_TREE_ERROR;
	if (v->seen_data[off / 8] & (1u << (off % 8)))
		return MMDB_SUCCESS;
	v->seen_data[off / 8] |= 1u << (off % 8);
	entry.mmdb = mmdb;
	entry.offset = (uint32_t)off;
	rc = MMDB_get_entry_data_list(&entry, &list);
	MMDB_free_entry_data_list(list);
	if (rc != MMDB_SUCCESS)
		return rc;
	v->records++;
	if (has_country(&entry))
		v->countries++;
	return MMDB_SUCCESS;
}

/*
 * Height of the subtree at node, reached at depth, or -1 when the tree is
 * corrupt: a cycle, a walk longer than the address, a bad data pointer.
 * Recursion is bounded by the address length (at most 128 levels).
 */
static int
node_height(struct verify *v, uint32_t node, int depth)
{
	MMDB_search_node_s	 n;
	uint64_t		 rec[2];
	uint32_t		 nodes = v->mmdb->metadata.node_count;
	int			 i, h, best = 0;

	if (v->height[node] == H_ACTIVE || depth >= v->bits) {
		v->rc = MMDB_CORRUPT_SEARCH_TREE_ERROR;
		return -1;
	}
	if (v->height[node] != H_UNKNOWN) {
		/* Shared subtree (IPv4 aliases): known height, new depth. */
		if (depth + v->height[node] > v->bits) {
			v->rc = MMDB_CORRUPT_SEARCH_TREE_ERROR;
			return -1;
		}
		return v->height[node];
	}
	if ((v->rc = MMDB_read_node(v->mmdb, node, &n)) != MMDB_SUCCESS)
		return -1;
	v->height[node] = H_ACTIVE;
	v->reached++;
	rec[0] = n.left_record;
	rec[1] = n.right_record;
	for (i = 0; i < 2; i++) {
		if (rec[i] < nodes) {
			if ((h = node_height(v, (uint32_t)rec[i], depth + 1)) < 0)
				return -1;
			if (h > best)
				best = h;
		} else if (rec[i] > nodes &&
		    (v->rc = verify_record(v, rec[i])) !=
		    MMDB_SUCCESS)
			return -1;
	}
	v->height[node] = (uint8_t)(best + 1);
	return best + 1;
}

/*
 * Check the whole tree and every data record; *countries gets how many
 * distinct records carry a country.
 */
static int
verify_tree(const MMDB_s *mmdb, uint32_t *countries)
{
	struct verify	v = { mmdb, NULL, NULL, 0, MMDB_SUCCESS, 0, 0, 0 };
	uint32_t	nodes = mmdb->metadata.node_count;

	if (nodes == 0)
		return MMDB_INVALID_METADATA_ERROR;
	v.bits = mmdb->metadata.ip_version == 4 ? 32 : 128;
	if ((v.height = calloc(nodes, 1)) == NULL ||
	    (v.seen_data = calloc(mmdb->data_section_size / 8 + 1, 1)) ==
	    NULL)
		v.rc = MMDB_OUT_OF_MEMORY_ERROR;
	else if (node_height(&v, 0, 0) >= 0 && v.reached != nodes)
		/* Writers emit no unreachable nodes: the tree is damaged. */
		v.rc = MMDB_CORRUPT_SEARCH_TREE_ERROR;
	free(v.height);
	free(v.seen_data);
	*countries = v.countries;
	return v.rc;
}

struct geodb *
geo_open(const char *path, char *err, size_t errlen)
{
	struct geodb	*db;
	uint32_t	 countries;
	int		 rc;

	if ((db = calloc(1, sizeof(*db))) == NULL ||
	    (db->path = strdup(path)) == NULL) {
		free(db);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	rc = MMDB_open(path, MMDB_MODE_MMAP, &db->mmdb);
	if (rc != MMDB_SUCCESS) {
		if (rc == MMDB_IO_ERROR || rc == MMDB_FILE_OPEN_ERROR)
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
	if ((rc = verify_tree(&db->mmdb, &countries)) != MMDB_SUCCESS) {
		snprintf(err, errlen, "%s: corrupt MaxMind DB: %s", path,
		    MMDB_strerror(rc));
		geo_close(db);
		return NULL;
	}
	/*
	 * Routing reads country.iso_code.  A valid MMDB of another kind (an
	 * ASN, ISP or anonymous-IP database) would open fine and then send
	 * every client to the default region: refuse it.  Only the records
	 * count, not database_type, which writers fill in as they please.
	 */
	if (countries == 0) {
		snprintf(err, errlen, "%s: no country data (database_type "
		    "\"%s\"): not a GeoIP country or city database", path,
		    db->mmdb.metadata.database_type ?
		    db->mmdb.metadata.database_type : "");
		geo_close(db);
		return NULL;
	}
	return db;
}

void
geo_close(struct geodb *db)
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
geo_lookup(const struct geodb *db, const struct netaddr *a,
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
	    "continent", "code") != 0 || !countries_continent_is_valid(out->continent))
		out->continent[0] = '\0';
	ci = out->country[0] ? countries_find(out->country) : NULL;
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
geo_build_epoch(const struct geodb *db)
{
	return db->mmdb.metadata.build_epoch;
}

const char *
geo_type(const struct geodb *db)
{
	return db->mmdb.metadata.database_type;
}

const char *
geo_path(const struct geodb *db)
{
	return db->path;
}
