"""Development tools: never installed with `backend` nor copied into the image.

`devtools.fake_wechat` is a fake WeChat API server for tests and local trials. Settings add this
package to INSTALLED_APPS when it is importable (a checkout, never the image), which is what
registers `manage.py fake_wechat`.
"""
