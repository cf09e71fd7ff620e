/* metrics: counters from several threads add up; the page is well-formed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static int	eu, srv1;

static void *
worker(void *arg)
{
	int	i;

	(void)arg;
	for (i = 0; i < 10000; i++) {
		metrics_request(307, REASON_GEO, eu, 0.00002);
		metrics_redirect(srv1);
	}
	metrics_request(503, REASON_NONE, -1, 2.0);
	return NULL;
}

static int
has_line(const char *page, const char *line)
{
	const char	*p = page;
	size_t		 n = strlen(line);

	while ((p = strstr(p, line)) != NULL) {
		if ((p == page || p[-1] == '\n') && (p[n] == '\n'))
			return 1;
		p += n;
	}
	return 0;
}

static void
test_threads_sum(void **state)
{
	struct metrics_gauges	 g = { .per_server = 1, .redis_up = -1 };
	pthread_t		 t[4];
	char			*page;
	size_t			 len;
	int			 i;

	(void)state;
	eu = metrics_region_label("eu");
	srv1 = metrics_server_label("eu-1");
	assert_int_equal(metrics_region_label("eu"), eu);	/* stable */
	assert_int_not_equal(metrics_region_label("us"), eu);
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	metrics_linger_outcome(LINGER_EOF);
	metrics_discarded_bytes(1234);
	metrics_reload("geoip", 0);
	page = metrics_render(&g, &len);
	assert_non_null(page);
	assert_int_equal(strlen(page), len);
	assert_true(has_line(page, "geo307_requests_total{status=\"307\","
	    "reason=\"geo\",region=\"eu\"} 40000"));
	assert_true(has_line(page, "geo307_requests_total{status=\"503\","
	    "reason=\"none\",region=\"none\"} 4"));
	assert_true(has_line(page, "geo307_redirects_total{server=\"eu-1\"} "
	    "40000"));
	assert_true(has_line(page, "geo307_linger_total{outcome=\"eof\"} 1"));
	assert_true(has_line(page, "geo307_discarded_body_bytes_total 1234"));
	assert_true(has_line(page, "geo307_reload_total{what=\"geoip\","
	    "result=\"error\"} 1"));
	assert_true(has_line(page, "geo307_request_duration_seconds_bucket"
	    "{le=\"2.5e-05\"} 40000"));
	assert_true(has_line(page, "geo307_request_duration_seconds_bucket"
	    "{le=\"+Inf\"} 40004"));
	assert_true(has_line(page, "# TYPE geo307_requests_total counter"));
	/* No Redis: the family is declared, with no sample. */
	assert_true(has_line(page, "# TYPE geo307_redis_up gauge"));
	assert_null(strstr(page, "\ngeo307_redis_up "));
	free(page);
	g.redis_up = 0;
	page = metrics_render(&g, &len);
	assert_true(has_line(page, "geo307_redis_up 0"));
	free(page);
	/* per_server = no drops the label. */
	g.per_server = 0;
	page = metrics_render(&g, &len);
	assert_true(has_line(page, "geo307_redirects_total 40000"));
	free(page);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_sum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
