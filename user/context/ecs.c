// SPDX-License-Identifier: Apache-2.0
#include <stdio.h>
#include <string.h>

#include "ecs.h"
#include "http.h"
#include "jsonbody.h"

#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
/* What ARNs, names and statuses may contain; anything else is refused. */
#define ARN_CHARS ALNUM ":/_.-+=,@"
#define NAME_CHARS ALNUM "_.-"
#define IMAGE_CHARS ALNUM "_.-/:@"

const char *ecs__lookup_name(enum ecs_lookup l)
{
	switch (l) {
	case ECS_FOUND: return "found";
	case ECS_NOT_FOUND: return "not_found";
	case ECS_AGENT_DOWN: return "agent_unreachable";
	case ECS_ERROR: return "error";
	}
	return "unknown";
}

static bool valid_arn(const char *s)
{
	static const char *const partitions[] = { "arn:aws:", "arn:aws-cn:", "arn:aws-us-gov:" };
	bool known = false;

	for (size_t i = 0; i < sizeof(partitions) / sizeof(partitions[0]); i++)
		known |= !strncmp(s, partitions[i], strlen(partitions[i]));
	return known && strlen(s) < ECS_ARN_LEN && strspn(s, ARN_CHARS) == strlen(s);
}

int ecs__parse_metadata(const char *body, size_t len, struct ecs_agent_info *out, char *err,
			size_t errsz)
{
	json_object *root = jsonbody__object("ECS agent metadata", body, len, ECS_MAX_REPLY, err,
					     errsz);
	const char *cluster, *ci, *ver;

	memset(out, 0, sizeof(*out));
	if (!root)
		return -1;
	cluster = jsonbody__str(root, "Cluster");
	ci = jsonbody__str(root, "ContainerInstanceArn");
	ver = jsonbody__str(root, "Version");
	/* The cluster may be a name or an ARN. */
	if (!jsonbody__copy_if(cluster, ARN_CHARS, out->cluster, sizeof(out->cluster))) {
		snprintf(err, errsz, "ECS agent metadata: no valid Cluster");
		json_object_put(root);
		return -1;
	}
	if (ci[0] && valid_arn(ci))
		snprintf(out->container_instance_arn, sizeof(out->container_instance_arn), "%s", ci);
	jsonbody__copy_if(ver, ALNUM " _.-()", out->version, sizeof(out->version));
	if (valid_arn(out->cluster)) {
		/* Given as an ARN: keep it, and the name after "cluster/". */
		const char *name = strstr(out->cluster, ":cluster/");

		snprintf(out->cluster_arn, sizeof(out->cluster_arn), "%s", out->cluster);
		if (name && name[9])
			memmove(out->cluster, name + 9, strlen(name + 9) + 1);
	} else if (out->container_instance_arn[0]) {
		/* arn:PARTITION:ecs:REGION:ACCOUNT:container-instance/... */
		const char *p = out->container_instance_arn;
		const char *res = NULL;
		int colons = 0;

		for (const char *q = p; *q; q++)
			if (*q == ':' && ++colons == 5) {
				res = q + 1;
				break;
			}
		if (res && !strncmp(res, "container-instance/", 19))
			snprintf(out->cluster_arn, sizeof(out->cluster_arn), "%.*scluster/%s",
				 (int)(res - p), p, out->cluster);
		if (!valid_arn(out->cluster_arn))
			out->cluster_arn[0] = '\0';
	}
	json_object_put(root);
	return 0;
}

int ecs__parse_task(const char *body, size_t len, const char *docker_id,
		    struct ecs_task_info *out, char *err, size_t errsz)
{
	json_object *root = jsonbody__object("ECS task", body, len, ECS_MAX_REPLY, err, errsz);
	json_object *containers;
	const char *arn;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!root)
		return -1;
	arn = jsonbody__str(root, "Arn");
	if (!valid_arn(arn) || !strstr(arn, ":task/")) {
		snprintf(err, errsz, "ECS task: no valid Arn");
		json_object_put(root);
		return -1;
	}
	snprintf(out->task_arn, sizeof(out->task_arn), "%s", arn);
	jsonbody__copy_if(jsonbody__str(root, "Family"), NAME_CHARS, out->family,
			  sizeof(out->family));
	jsonbody__copy_if(jsonbody__str(root, "Version"), "0123456789", out->revision,
			  sizeof(out->revision));
	jsonbody__copy_if(jsonbody__str(root, "KnownStatus"), NAME_CHARS, out->known_status,
			  sizeof(out->known_status));
	jsonbody__copy_if(jsonbody__str(root, "DesiredStatus"), NAME_CHARS, out->desired_status,
			  sizeof(out->desired_status));
	if (json_object_object_get_ex(root, "Containers", &containers) &&
	    json_object_is_type(containers, json_type_array)) {
		n = json_object_array_length(containers);
		for (size_t i = 0; i < n && i < 1024; i++) {
			json_object *c = json_object_array_get_idx(containers, i);
			const char *id = jsonbody__str(c, "DockerId");

			if (!id[0] || strncmp(id, docker_id, strlen(docker_id)) ||
			    strlen(id) != strlen(docker_id))
				continue;
			jsonbody__copy_if(jsonbody__str(c, "Name"), NAME_CHARS, out->container_name,
					  sizeof(out->container_name));
			jsonbody__copy_if(jsonbody__str(c, "DockerName"), NAME_CHARS,
					  out->docker_name, sizeof(out->docker_name));
			jsonbody__copy_if(jsonbody__str(c, "Image"), IMAGE_CHARS, out->image,
					  sizeof(out->image));
			jsonbody__copy_if(jsonbody__str(c, "ImageID"), ALNUM ":", out->image_id,
					  sizeof(out->image_id));
			break;
		}
	}
	json_object_put(root);
	return 0;
}

static enum ecs_lookup request(struct http *h, const char *url, long timeout_ms,
			       struct http_reply *r, char *why, size_t whysz)
{
	if (http__request(h, "GET", url, NULL, timeout_ms, ECS_MAX_REPLY, r)) {
		if (r->error == HTTP_E_TIMEOUT)
			snprintf(why, whysz, "ECS agent: no reply within %ld ms", timeout_ms);
		else
			snprintf(why, whysz, "ECS agent: %s (%s)", http__error_name(r->error),
				 r->errbuf);
		return r->error == HTTP_E_TOO_BIG ? ECS_ERROR : ECS_AGENT_DOWN;
	}
	return ECS_FOUND;
}

enum ecs_lookup ecs__get_metadata(struct http *h, const char *base_url, long timeout_ms,
				  struct ecs_agent_info *out, char *why, size_t whysz)
{
	struct http_reply r;
	enum ecs_lookup l;
	char url[600];

	snprintf(url, sizeof(url), "%s/v1/metadata", base_url);
	l = request(h, url, timeout_ms, &r, why, whysz);
	if (l != ECS_FOUND)
		return l;
	if (r.status != 200) {
		snprintf(why, whysz, "ECS agent metadata: HTTP %ld", r.status);
		l = ECS_ERROR;
	} else if (ecs__parse_metadata(r.body, r.len, out, why, whysz)) {
		l = ECS_ERROR;
	}
	http__reply_free(&r);
	return l;
}

enum ecs_lookup ecs__get_task(struct http *h, const char *base_url, long timeout_ms,
			      const char *docker_id, struct ecs_task_info *out, char *why,
			      size_t whysz)
{
	struct http_reply r;
	enum ecs_lookup l;
	char url[700];

	if (strspn(docker_id, "0123456789abcdef") != strlen(docker_id) || !docker_id[0] ||
	    strlen(docker_id) > 64) {
		snprintf(why, whysz, "not a container id");
		return ECS_ERROR;
	}
	snprintf(url, sizeof(url), "%s/v1/tasks?dockerid=%s", base_url, docker_id);
	l = request(h, url, timeout_ms, &r, why, whysz);
	if (l != ECS_FOUND)
		return l;
	if (r.status == 404 || (r.status == 400 && r.len < 512)) {
		snprintf(why, whysz, "the ECS agent knows no task with container %.12s "
			 "(stopped, or not started by ECS)", docker_id);
		l = ECS_NOT_FOUND;
	} else if (r.status != 200) {
		snprintf(why, whysz, "ECS task lookup: HTTP %ld", r.status);
		l = ECS_ERROR;
	} else if (ecs__parse_task(r.body, r.len, docker_id, out, why, whysz)) {
		l = ECS_ERROR;
	}
	http__reply_free(&r);
	return l;
}
