/*
 * An HAProxy map_ip file from an MMDB, for bench/compare: every IPv4
 * network of the database's search tree with the value that geo307's
 * bench regions give its continent (EU AF -> eu-1, AS OC -> ap-1, the
 * rest -> us-1).  Adjacent networks with the same value are not merged.
 *
 *   mmdb2map db.mmdb > region.map
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <maxminddb.h>

static MMDB_s	db;

static const char *
value_of(MMDB_entry_s *e)
{
	MMDB_entry_data_s	d;

	if (MMDB_get_value(e, &d, "continent", "code", NULL) != MMDB_SUCCESS ||
	    !d.has_data || d.type != MMDB_DATA_TYPE_UTF8_STRING ||
	    d.data_size != 2)
		return "us-1";
	if (memcmp(d.utf8_string, "EU", 2) == 0 ||
	    memcmp(d.utf8_string, "AF", 2) == 0)
		return "eu-1";
	if (memcmp(d.utf8_string, "AS", 2) == 0 ||
	    memcmp(d.utf8_string, "OC", 2) == 0)
		return "ap-1";
	return "us-1";
}

static void
walk(uint32_t node, uint32_t addr, int depth)
{
	MMDB_search_node_s	n;
	int			side;
	uint8_t			type;
	uint64_t		rec;
	MMDB_entry_s		e;
	uint32_t		a;

	if (MMDB_read_node(&db, node, &n) != MMDB_SUCCESS)
		return;
	for (side = 0; side < 2; side++) {
		type = side ? n.right_record_type : n.left_record_type;
		rec = side ? n.right_record : n.left_record;
		e = side ? n.right_record_entry : n.left_record_entry;
		a = side ? addr | (1u << (31 - depth)) : addr;
		if (type == MMDB_RECORD_TYPE_SEARCH_NODE && depth < 31)
			walk((uint32_t)rec, a, depth + 1);
		else if (type == MMDB_RECORD_TYPE_DATA)
			printf("%u.%u.%u.%u/%d %s\n", a >> 24, (a >> 16) & 255,
			    (a >> 8) & 255, a & 255, depth + 1, value_of(&e));
	}
}

int
main(int argc, char **argv)
{
	MMDB_search_node_s	n;
	uint32_t		node = 0;
	int			i;

	if (argc != 2 || MMDB_open(argv[1], MMDB_MODE_MMAP, &db) !=
	    MMDB_SUCCESS) {
		fprintf(stderr, "usage: mmdb2map db.mmdb (a readable MMDB)\n");
		return 2;
	}
	/* IPv4 lives at ::/96 of an IPv6 tree: 96 left turns. */
	if (db.metadata.ip_version == 6)
		for (i = 0; i < 96; i++) {
			if (MMDB_read_node(&db, node, &n) != MMDB_SUCCESS ||
			    n.left_record_type != MMDB_RECORD_TYPE_SEARCH_NODE)
				return 1;
			node = (uint32_t)n.left_record;
		}
	walk(node, 0, 0);
	MMDB_close(&db);
	return 0;
}
