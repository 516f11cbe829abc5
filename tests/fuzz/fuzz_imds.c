// SPDX-License-Identifier: Apache-2.0
/*
 * The IMDS reply parsers on arbitrary bodies (not NUL-terminated: the parsers
 * take a length and must not rely on the terminator http.c adds): the instance
 * identity document, the hostname and local-ipv4 text replies, and the token
 * TTL header value.
 */
#include "fuzz_util.h"
#include "imds.h"

#define DIGITS "0123456789"
#define LOWER_HEX "0123456789abcdef"

static void identity(const char *body, size_t size)
{
	struct instance_info ii;
	char err[256];
	const char *part;
	int r;

	memset(&ii, 0xa5, sizeof(ii));
	err[0] = '\0';
	r = imds__parse_identity(body, size, &ii, err, sizeof(err));
	FZ_CHECK(r == 0 || r == -1, "imds__parse_identity returns 0 or -1");
	if (r) {
		FZ_CHECK(fz_zeroed(&ii, sizeof(ii)), "a rejected document leaves out empty");
		FZ_CHECK(err[0] && fz_terminated(err, sizeof(err)), "a rejection says why");
		return;
	}
	FZ_CHECK(fz_terminated(ii.account_id, sizeof(ii.account_id)) &&
			 fz_terminated(ii.region, sizeof(ii.region)) &&
			 fz_terminated(ii.zone, sizeof(ii.zone)) &&
			 fz_terminated(ii.instance_id, sizeof(ii.instance_id)) &&
			 fz_terminated(ii.image_id, sizeof(ii.image_id)) &&
			 fz_terminated(ii.instance_type, sizeof(ii.instance_type)) &&
			 fz_terminated(ii.architecture, sizeof(ii.architecture)) &&
			 fz_terminated(ii.private_ip, sizeof(ii.private_ip)) &&
			 fz_terminated(ii.partition, sizeof(ii.partition)),
		 "every field is NUL-terminated");
	FZ_CHECK(strlen(ii.account_id) == 12 && fz_only(ii.account_id, DIGITS),
		 "account id is 12 digits");
	FZ_CHECK(ii.region[0] && strchr(ii.region, '-'), "region is present");
	FZ_CHECK(!strncmp(ii.instance_id, "i-", 2) && fz_only(ii.instance_id + 2, LOWER_HEX),
		 "instance id is i- and hex digits");
	part = imds__partition(ii.region);
	FZ_CHECK(!strcmp(ii.partition, part), "partition follows the region");
	FZ_CHECK(!strcmp(part, "aws") || !strcmp(part, "aws-cn") || !strcmp(part, "aws-us-gov"),
		 "partition is a known one");
}

static void text_replies(const char *body, size_t size)
{
	char host[256], ip[16], tiny[4];

	if (imds__parse_hostname(body, size, host, sizeof(host)) == 0)
		FZ_CHECK(host[0] && fz_terminated(host, sizeof(host)) && !strpbrk(host, " \t\r\n"),
			 "a hostname is one trimmed word");
	if (imds__parse_hostname(body, size, tiny, sizeof(tiny)) == 0)
		FZ_CHECK(fz_terminated(tiny, sizeof(tiny)), "a short hostname fits");
	if (imds__parse_ipv4(body, size, ip, sizeof(ip)) == 0)
		FZ_CHECK(ip[0] && fz_terminated(ip, sizeof(ip)) && fz_only(ip, DIGITS "."),
			 "an address is dotted digits");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fz_dup(data, size);
	char *str = fz_strdup(data, size);
	uint32_t ttl;

	identity(body, size);
	text_replies(body, size);
	ttl = imds__parse_ttl(str);
	FZ_CHECK(ttl <= 21600, "token TTL is at most 6 hours");
	FZ_CHECK(imds__partition(str) != NULL, "every region has a partition");
	free(body);
	free(str);
	return 0;
}
