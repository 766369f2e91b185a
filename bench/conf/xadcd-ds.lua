-- DataScript scenario (xadcd, HTTP_REQ): look the X-Tenant header up in
-- the key-value string group "tenants" (10,000 entries) and pass the
-- tenant's class to the server. bench/conf/haproxy-ds.lua does the same.
local t = avi.http.get_header("X-Tenant")
if t then
  local class, found = avi.stringgroup.equals("tenants", t)
  if found then
    avi.http.add_header("X-Tenant-Class", class)
  end
end
