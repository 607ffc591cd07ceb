/* Private: a subagent's environment narrowed to a subdirectory of its
 * parent's (subagent_env.c). */
#ifndef LO_AGENT_SUBAGENT_ENV_H
#define LO_AGENT_SUBAGENT_ENV_H

#include "lightsout/agent.h"

/* A view of inner rooted at dir (resolved and confined by inner, so it must
 * exist inside inner's working directory). inner must outlive the view;
 * lo_agent_env_free frees the view only. NULL with err filled. */
lo_agent_env *subagent_env_new(lo_agent_env *inner, const char *dir, lo_error *err);

#endif
