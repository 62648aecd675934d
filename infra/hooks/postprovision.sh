#!/bin/sh
# azd post-provision hook: says where the report is and how to call it. azd exports the Bicep outputs
# (AZURE_FUNCTION_APP_NAME, AZURE_RESOURCE_GROUP, VERIFIER_REPORT_URL, …) into this hook's environment.
set -eu

echo ""
echo "apim-pool-verifier is provisioned."
echo "  Report:        ${VERIFIER_REPORT_URL:-<unknown: run azd env get-values>}"
echo "  Deploy mode:   ${VERIFIER_DEPLOY_MODE:-verify-only}"
echo "  Function key:  az functionapp keys list -g ${AZURE_RESOURCE_GROUP:-<rg>} -n ${AZURE_FUNCTION_APP_NAME:-<app>} --query functionKeys.default -o tsv"
echo "  Open it as:    ${VERIFIER_REPORT_URL:-https://<app>.azurewebsites.net/api/report}?code=<function key>"
REPORT_URL="${VERIFIER_REPORT_URL:-https://<app>.azurewebsites.net/api/report}"
echo "  Doctor (app):  ${REPORT_URL%/report}/doctor?code=<function key>   (the same checks with the app's identity)"
echo "  (the first run starts on the next timer tick after 'azd deploy' has uploaded the package)"
echo ""

# The doctor checks every connection the app needs with your own Azure sign-in. It runs only when this build of
# the CLI has it (it is part of issue 14 and may not be merged yet).
if [ -f dist/src/cli/main.js ] && node bin/apim-pool-verifier.js help 2>/dev/null | grep -q '^  doctor'; then
  node bin/apim-pool-verifier.js doctor
else
  echo "doctor: not available in this build; check the settings with 'az functionapp config appsettings list'."
fi
