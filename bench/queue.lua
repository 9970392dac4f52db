-- wrk script for bench/queue.sh: spreads requests over many pre-created fans, each with its own
-- session token (and, for status, its queue ticket). FANS_FILE lists one "token ticket" a line.
local fans = {}
local next_fan = 1
local mode = "join"

function init(args)
  mode = args[1] or "join"
  local event_id = args[2]
  local thread_offset = tonumber(args[3] or "0")
  for line in io.lines(os.getenv("FANS_FILE")) do
    local token, ticket = line:match("^(%S+)%s*(%S*)$")
    fans[#fans + 1] = {token = token, ticket = ticket}
  end
  next_fan = (thread_offset % #fans) + 1
  wrk.path_join = "/v1/events/" .. event_id .. "/queue"
  wrk.path_status = "/v1/events/" .. event_id .. "/queue/status"
end

function request()
  local fan = fans[next_fan]
  next_fan = next_fan % #fans + 1
  if mode == "join" then
    return wrk.format("POST", wrk.path_join, {["Authorization"] = "Bearer " .. fan.token}, "")
  end
  return wrk.format("GET", wrk.path_status,
                    {["Authorization"] = "Bearer " .. fan.token, ["X-Queue-Ticket"] = fan.ticket})
end
