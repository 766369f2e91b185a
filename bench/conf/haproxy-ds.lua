-- DataScript scenario (HAProxy): the same as bench/conf/xadcd-ds.lua.
-- Loaded with lua-load-per-thread; the group is a Lua table built once at
-- load from the same file xadcd's string group is filled from
-- ("key value" lines).
local tenants = {}
local f = assert(io.open("@DIR@/tenants.lst", "r"))
for line in f:lines() do
  local k, v = line:match("^(%S+) (%S+)$")
  if k then tenants[k] = v end
end
f:close()

core.register_action("tenant_class", { "http-req" }, function(txn)
  local t = txn.f:req_hdr("x-tenant")
  if t then
    local class = tenants[t]
    if class then
      txn.http:req_add_header("X-Tenant-Class", class)
    end
  end
end)
