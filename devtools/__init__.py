"""Development tools: never installed with `backend` nor copied into the image.

`devtools.fake_wechat` is a fake WeChat API server for tests and local trials. Settings add this
package to INSTALLED_APPS only when DEBUG or TESTING is on and it is importable (a checkout, not the
image), which is what registers `manage.py fake_wechat`.
"""
