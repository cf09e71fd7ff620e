/*
 * verify METHOD URL SERVER-ID [--base PATH]: check a g307 token as an
 * upload server would (token_verify, the code geo307-sink uses), with
 * the keys of the config's [redirect] sign_keys.  URL is what the client
 * was sent to: https://host/base/target?...&g307=...; PATH is the
 * server's base path (default: the URL's path up to the target cannot be
 * known, so the whole path is the target unless --base says otherwise).
 * Exit 0 valid, 1 invalid (the reason said), 2 usage.  No Redis.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "token.h"

/* The request-target of an absolute URL: from the first '/' after the
 * authority, or "/" when there is none. */
static const char *
target_of(const char *url)
{
	const char	*p = strstr(url, "://");

	p = p != NULL ? p + 3 : url;
	p = strchr(p, '/');
	return p != NULL ? p : NULL;
}

int
cmd_verify(struct ctl *c, int argc, char **argv)
{
	struct token_keys	 keys;
	enum token_result	 r;
	const char		*base, *target;
	char			 err[256];

	if (ctl_option(&argc, argv, "--base", &base) == -1)
		return ctl_err(CTL_USAGE, "--base needs a PATH");
	ctl_dashdash(&argc, argv);
	if (argc != 4)
		return ctl_usage_of(argv[0]);
	if (c->cfg == NULL)
		return ctl_err(CTL_USAGE, "verify needs -c CONFIG (its "
		    "[redirect] sign_keys)");
	if (c->cfg->redirect.sign_keys == NULL)
		return ctl_err(CTL_FAIL, "%s has no [redirect] sign_keys",
		    c->cfgpath);
	if ((target = target_of(argv[2])) == NULL)
		return ctl_err(CTL_FAIL, "bad URL: no path");
	if (token_keys_parse(c->cfg->redirect.sign_keys, &keys, err,
	    sizeof(err)) != 0)
		return ctl_err(CTL_FAIL, "%s", err);
	r = token_verify(&keys, argv[3], argv[1], target, base,
	    (int64_t)time(NULL));
	token_keys_free(&keys);
	if (r != TOKEN_OK)
		return ctl_err(CTL_FAIL, "token refused: %s",
		    token_result_name(r));
	printf("token valid for %s %s on %s\n", argv[1], target, argv[3]);
	return CTL_OK;
}
