from django.db import models


class CeilingRow(models.Model):
    """One row per insert: the unique name makes the database check what a real create checks."""

    name = models.CharField("名称", max_length=100, unique=True)
    value = models.PositiveIntegerField("数值", default=0)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "基准行"
        verbose_name_plural = "基准行"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name
