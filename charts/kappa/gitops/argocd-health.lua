-- Argo CD health check of kappa.dev Functions, the reading kstatus (Flux) gives them:
-- Ready=True at the current generation: Healthy; Stalled=True (a problem only a change
-- of the spec or code fixes: InitError, ImagePullFailed, QuotaExceeded...): Degraded;
-- anything else (a spec change not yet observed, environments starting): Progressing.
-- Install: argocd-cm's resource.customizations.health.kappa.dev_Function (docs/operations.md).
local hs = {status = "Progressing", message = "Waiting for the operator to report status"}
if obj.status == nil then
  return hs
end
local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end
local ready, stalled
for _, condition in ipairs(obj.status.conditions or {}) do
  if condition.type == "Ready" then
    ready = condition
  elseif condition.type == "Stalled" then
    stalled = condition
  end
end
local function said(condition)
  return (condition.reason or "") .. ": " .. (condition.message or "")
end
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = said(stalled)
  return hs
end
if ready ~= nil and ready.observedGeneration ~= nil and generation ~= nil
    and ready.observedGeneration < generation then
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or "Ready"
  return hs
end
if ready ~= nil then
  hs.message = said(ready)
end
return hs
